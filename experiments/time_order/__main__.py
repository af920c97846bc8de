from experiments.time_order.study import main

main()
