package main

import "syscall"

// childAttr makes a child die with the driver, so an interrupted run leaves
// no chekd or fakes behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
