// Command chekd prints Russian fiscal receipts for InSales shops on a
// Chekonline register. It only hands over to the command tree in daemon/cli.
package main

import (
	"os"

	"github.com/chekd/chekd/daemon/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdout, os.Stderr))
}
