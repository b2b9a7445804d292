//go:build !linux

package main

import "syscall"

// childAttr is empty where there is no parent-death signal; the fakes still
// exit when their standard input closes.
func childAttr() *syscall.SysProcAttr { return nil }
