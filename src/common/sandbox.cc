#include "common/sandbox.h"

#include <linux/audit.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <initializer_list>

namespace varg::sandbox {

char* const* minimal_environ() {
  static const char* const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent", "LANG=C.UTF-8",
                                    "TMPDIR=/tmp", nullptr};
  return const_cast<char* const*>(env);
}

namespace {

// Its own session (no process group shared with vargd), dead with vargd, no privilege gains.
int detach() {
  if (::setsid() < 0) return errno;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return errno;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return 0;
}

}  // namespace

int landlock_abi() {
  const long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : int(v);
}

int confine_files(const char* dir) {
  const int abi = landlock_abi();
  if (abi <= 0) return ENOSYS;
  uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: execute … make_sym
  if (abi >= 2) all |= 1ULL << 13;  // refer (Debian 12's headers stop at ABI 2: the bits by number)
  if (abi >= 3) all |= 1ULL << 14;  // truncate
  if (abi >= 5) all |= 1ULL << 15;  // ioctl on devices
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = all;
  const int ruleset = int(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (ruleset < 0) return errno;
  auto allow = [ruleset](const char* path, uint64_t access) {
    const int fd = ::open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return;  // absent on this system (/lib64): nothing to allow
    landlock_path_beneath_attr rule{};
    rule.parent_fd = fd;
    rule.allowed_access = access;
    struct stat st;
    if (::fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))  // a file takes no directory rights
      rule.allowed_access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE;
    ::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    ::close(fd);
  };
  const uint64_t read_exec = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  for (const char* p : {"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", "/dev/urandom", "/sys/devices/system/cpu"})
    allow(p, read_exec);
  allow("/dev/null", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE);
  allow(dir, all);
  int rc = 0;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) rc = errno;
  ::close(ruleset);
  return rc;
}

#if defined(__x86_64__)

namespace {

constexpr uint32_t kArgLow0 = offsetof(seccomp_data, args[0]);  // little endian: low 32 bits of arg 0

// Refused with EPERM: tracing, reading other processes, and calls no renderer needs.
constexpr int kDenied[] = {SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp, SYS_perf_event_open,
                           SYS_bpf, SYS_userfaultfd, SYS_keyctl, SYS_add_key, SYS_request_key, SYS_mount, SYS_umount2,
                           SYS_pivot_root, SYS_chroot, SYS_setns, SYS_kexec_load, SYS_init_module, SYS_finit_module,
                           SYS_delete_module, SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_settimeofday,
                           SYS_clock_settime, SYS_tkill, SYS_pidfd_getfd};

constexpr uint32_t kNewNamespaces = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                    CLONE_NEWPID | CLONE_NEWNET;

}  // namespace

int confine() {
  if (const int e = detach(); e != 0) return e;
  const uint32_t self = uint32_t(::getpid());
  const uint32_t group = uint32_t(-int32_t(self));  // kill(-pid): its own process group (it leads it)
  constexpr size_t kD = sizeof kDenied / sizeof kDenied[0];
  // Layout: arch check, syscall load, the denied list, then the special cases, then the verdicts.
  sock_filter f[64 + 2 * kD];  // as many as the code below emits, and some room
  size_t n = 0;
  constexpr size_t kCap = sizeof f / sizeof f[0];
  auto stmt = [&](uint16_t code, uint32_t k) {
    if (n < kCap) f[n] = BPF_STMT(code, k);
    n++;
  };
  auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
    if (n < kCap) f[n] = BPF_JUMP(code, k, jt, jf);
    n++;
  };
  const uint32_t kEperm = SECCOMP_RET_ERRNO | EPERM, kEacces = SECCOMP_RET_ERRNO | EACCES;
  const uint32_t kEnosys = SECCOMP_RET_ERRNO | ENOSYS;

  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);  // the x32 ABI: another numbering, refused
  stmt(BPF_RET | BPF_K, kEperm);
  for (int sys : kDenied) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(sys), 0, 1);
    stmt(BPF_RET | BPF_K, kEperm);
  }
  // No socket at all: the renderers read and write files and pipes only.
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 1);
  stmt(BPF_RET | BPF_K, kEacces);
  // io_uring operations are not seen by seccomp: make libraries fall back to plain calls.
  for (int sys : {SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register}) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(sys), 0, 1);
    stmt(BPF_RET | BPF_K, kEnosys);
  }
  // No new namespaces (a user namespace is kernel attack surface); clone3 hides its flags from
  // the filter, so it is made to look absent (glibc then falls back to clone).
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1);
  stmt(BPF_RET | BPF_K, kEperm);
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
  stmt(BPF_RET | BPF_K, kEnosys);
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4);
  stmt(BPF_LD | BPF_W | BPF_ABS, kArgLow0);
  jump(BPF_JMP | BPF_JSET | BPF_K, kNewNamespaces, 0, 1);
  stmt(BPF_RET | BPF_K, kEperm);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  // kill(pid): only itself, its group (0 or -self).
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_kill, 0, 6);
  stmt(BPF_LD | BPF_W | BPF_ABS, kArgLow0);
  jump(BPF_JMP | BPF_JEQ | BPF_K, self, 3, 0);
  jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0);
  jump(BPF_JMP | BPF_JEQ | BPF_K, group, 1, 0);
  stmt(BPF_RET | BPF_K, kEperm);
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  // tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_open: only its own thread group.
  for (int sys : {SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo, SYS_pidfd_open}) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(sys), 0, 4);
    stmt(BPF_LD | BPF_W | BPF_ABS, kArgLow0);
    jump(BPF_JMP | BPF_JEQ | BPF_K, self, 1, 0);
    stmt(BPF_RET | BPF_K, kEperm);
    stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  }
  stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

  if (n > kCap) return EOVERFLOW;
  sock_fprog prog{static_cast<unsigned short>(n), f};
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) return errno;
  return 0;
}

#else

int confine() {
  if (const int e = detach(); e != 0) return e;
  return ENOSYS;  // no filter for this architecture: strict mode refuses to run children
}

#endif

}  // namespace varg::sandbox
