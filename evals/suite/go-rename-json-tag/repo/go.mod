module example.com/listens

go 1.19
