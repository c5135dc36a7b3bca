// Command etcd is etcd's own server main, built from its Go modules for the e2e control plane
// (Debian's etcd-server is too old for Kubernetes 1.33; see docs/testing.md).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
