// Command artstore is ArtStore's single binary: the server (artstore serve)
// and the command-line tools. It only wires; the logic lives in internal/.
package main

import (
	"os"

	"github.com/artstore/artstore/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
