from vlmeval_launcher import main

main()
