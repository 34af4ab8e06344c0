from zenprovision.cli import main

main()
