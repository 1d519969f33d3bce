"""Figure code, one module per experiment: imported only when figures are drawn."""
