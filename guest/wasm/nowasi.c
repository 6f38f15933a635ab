/*
 * nowasi.c - keeps WASI out of the guest's import section.
 *
 * The guest talks to the outside world only through palisade_v1 (host.h). wasi-libc's snprintf family is built on
 * its FILE machinery, which references stdout/stderr and through them the WASI calls fd_write, fd_seek, fd_close
 * and fd_fdstat_get, although formatting into a buffer never calls them. Defining those four wrappers here means
 * the linker never pulls in wasi-libc's real ones (and their imports). They fail with ENOSYS if ever reached.
 * Any other WASI function the code starts to use still shows up as an import, and the host refuses the module.
 */
#if defined(__wasm__)
#include <wasi/api.h>

__wasi_errno_t __wasi_fd_close(__wasi_fd_t fd) {
  (void)fd;
  return __WASI_ERRNO_NOSYS;
}

__wasi_errno_t __wasi_fd_fdstat_get(__wasi_fd_t fd, __wasi_fdstat_t *retptr0) {
  (void)fd;
  (void)retptr0;
  return __WASI_ERRNO_NOSYS;
}

__wasi_errno_t __wasi_fd_seek(__wasi_fd_t fd, __wasi_filedelta_t offset, __wasi_whence_t whence,
                              __wasi_filesize_t *retptr0) {
  (void)fd;
  (void)offset;
  (void)whence;
  (void)retptr0;
  return __WASI_ERRNO_NOSYS;
}

__wasi_errno_t __wasi_fd_write(__wasi_fd_t fd, const __wasi_ciovec_t *iovs, size_t iovs_len,
                               __wasi_size_t *retptr0) {
  (void)fd;
  (void)iovs;
  (void)iovs_len;
  (void)retptr0;
  return __WASI_ERRNO_NOSYS;
}
#else
typedef int pal_nowasi_unused; /* ISO C forbids an empty translation unit */
#endif
