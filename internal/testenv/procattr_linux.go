package testenv

import "syscall"

// sysProcAttr makes the kernel kill the gateway if the test binary dies
// without running Main's cleanup, for instance on a test timeout panic.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
