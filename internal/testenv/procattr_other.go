//go:build !linux

package testenv

import "syscall"

// sysProcAttr has nothing to add outside Linux, where no parent-death
// signal exists; Main's cleanup alone stops the gateway.
func sysProcAttr() *syscall.SysProcAttr { return nil }
