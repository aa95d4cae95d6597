// The Go binding's benchmark, a module of its own so that the binding
// itself needs nothing but the standard library. It needs redigo, Debian's
// golang-github-gomodule-redigo-dev: bench.sh stages this directory, the
// binding and a copy of redigo's redis package side by side under /tmp
// (the packaged go.mod of redigo names testify, which is not packaged and
// cannot be fetched offline), which is where the replace paths point.
module pricecache.dev/pricecache/bench

go 1.19

require (
	github.com/gomodule/redigo v1.8.3
	pricecache.dev/pricecache v0.0.0
)

replace (
	github.com/gomodule/redigo => ../redigo
	pricecache.dev/pricecache => ../pricecache
)
