module pricecache.dev/pricecache

go 1.19
