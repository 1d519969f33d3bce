from actlab.entry import main

main()
