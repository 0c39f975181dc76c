// Confinement of the child processes vargd starts on behalf of callers (the composition
// evaluator, esbuild, ffmpeg, espeak): what they inherit and which system calls they may make.
// Everything here runs in the child between fork and exec, so it is async-signal-safe.
#pragma once

namespace varg::sandbox {

// PATH, HOME, LANG and TMPDIR only: nothing of vargd's own environment (its provider keys, its
// secret, the payment secret) ever reaches a child.
char* const* minimal_environ();

// In the child after fork: its own session (no process group shared with vargd), killed when
// vargd dies, no_new_privs, and a seccomp filter that refuses ptrace and cross-process memory
// access, signals to any process outside the child itself, every socket (no network, no unix
// sockets of other services), io_uring (which would bypass the filter) and the administrative
// calls (mount, modules, keyrings, bpf, ...). Returns 0, or an errno when the filter could not be
// installed (the caller decides whether that is fatal).
int confine();

// In the child after fork, before confine(): with Landlock, the process and everything it starts
// may only read and execute the system's programs and libraries (/usr, /lib, /bin, the loader's
// cache, /dev/null and /dev/urandom) and read, write, create and remove inside `dir`; every other
// path (/etc/passwd, /proc/1, another job's directory) is refused. Returns 0, or an errno where
// the kernel has no Landlock (see landlock_abi).
int confine_files(const char* dir);

// The kernel's Landlock ABI version; 0 when it has none (confine_files then confines nothing).
int landlock_abi();

}  // namespace varg::sandbox
