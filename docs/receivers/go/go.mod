module example.com/hookrelay/receivers

go 1.21
