module gzratio
go 1.21
