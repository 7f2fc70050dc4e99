module example.com/lakereports

go 1.19
