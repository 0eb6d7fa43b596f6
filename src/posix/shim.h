/* SPDX-License-Identifier: MIT */
/*
 * The LD_PRELOAD shim (docs/posix-shim.md): internal interfaces shared by its
 * modules. Every interposed libc call first asks whether its descriptor or
 * path is udax's; if not, it calls the next definition of the symbol (libc)
 * through REAL() and nothing else happens.
 */
#ifndef UDAX_POSIX_SHIM_H
#define UDAX_POSIX_SHIM_H

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "udax.h"

/* Exported symbols of the shim; everything else in the library is hidden. */
#define SHIM_API __attribute__((visibility("default")))

/*
 * REAL(fn) - the next definition of libc's @fn, looked up once with
 * dlsym(RTLD_NEXT) and cached in a function-local static.
 */
void *real_lookup(const char *name);
#define REAL(fn)                                                                                   \
	(__extension__({                                                                           \
		static __typeof__(&fn) real_##fn;                                                  \
		__typeof__(&fn) p_ = __atomic_load_n(&real_##fn, __ATOMIC_RELAXED);                \
		if (!p_) {                                                                         \
			p_ = (__typeof__(&fn))real_lookup(#fn);                                    \
			__atomic_store_n(&real_##fn, p_, __ATOMIC_RELAXED);                        \
		}                                                                                  \
		p_;                                                                                \
	}))

/* Set errno from a udax result: r >= 0 is returned, -errno becomes -1. */
static inline long shim_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* Print "udax shim: <msg>" to stderr (with udax_errormsg() if @detail). */
__attribute__((format(printf, 1, 2))) void shim_warn(const char *fmt, ...);

/* ---- mount.c: configuration, the lazily mounted pool, fork state ---- */

/* The configured prefix (normalized, no trailing '/'), or NULL: shim inactive. */
extern const char *shim_prefix;
extern const char *shim_prefix_base; /* its last component */
extern size_t shim_prefix_len;
void shim_config(void);
/* The mounted pool, mounting it at the first call; -errno (message printed once). */
int shim_fs(struct udax_fs **fs);
/* -EIO (with a message) in a forked child, where udax descriptors cannot work. */
int shim_check_fork(void);
bool shim_forked(void);
/* UDAX_POOL as configured (pin.c maps pinned pages of the pool through it). */
const char *shim_pool_path(void);
/* The process umask, tracked by the umask() interposer. */
mode_t shim_umask(void);

/* ---- path.c: which paths are udax's ---- */

#define SHIM_PATH_MAX 4096
/*
 * path_resolve - 1 and the pool path in @out when (@dirfd, @path) names a
 * file under the prefix; 0 when it does not (the caller passes through);
 * -errno when it cannot be resolved.
 */
int path_resolve(int dirfd, const char *path, char *out);
void path_cwd_changed(void);

/*
 * ON_PATH(dirfd, path, passthru, expr) - if (@dirfd, @path) is udax's,
 * evaluate @expr (a long: >= 0 or -errno) with pp set to its pool path and
 * return it the libc way; otherwise evaluate @passthru.
 */
#define ON_PATH(dirfd, path, passthru, expr)                                                       \
	(__extension__({                                                                           \
		char pp[SHIM_PATH_MAX];                                                            \
		int k_ = path_resolve(dirfd, path, pp);                                            \
		k_ == 0 ? (long)(passthru) : shim_ret(k_ < 0 ? k_ : (long)(expr));                 \
	}))

/* FS_CALL(fn, args...) - fn(fs, args...) on the mounted pool, or its -errno. */
#define FS_CALL(fn, ...)                                                                           \
	(__extension__({                                                                           \
		struct udax_fs *fs_;                                                               \
		int e_ = shim_fs(&fs_);                                                            \
		e_ ? (long)e_ : (long)fn(fs_, __VA_ARGS__);                                        \
	}))

/* ---- fdtable.c: open udax files and the descriptors that name them ---- */

/* One open file description (shared by dup'd descriptors). */
struct ufile {
	atomic_int refs;
	pthread_mutex_t lock; /* serializes position-dependent I/O on @file */
	struct udax_file *file;
	int flags; /* O_ACCMODE and status flags, as F_GETFL reports them */
	bool is_dir;
	uint64_t ino;
	/* F_SET_RW_HINT's value; udax has no use for it */
	_Atomic uint64_t rw_hint;
	char path[]; /* pool path */
};

#define SHIM_FD_MAX 65536
extern _Atomic(struct ufile *) fd_table[SHIM_FD_MAX];

/* fd_is_udax - the hot-path test: one load and a branch. */
static inline bool fd_is_udax(int fd)
{
	return (unsigned)fd < SHIM_FD_MAX &&
	       atomic_load_explicit(&fd_table[fd], memory_order_relaxed) != NULL;
}

struct ufile *ufile_new(struct udax_file *file, int flags, const char *path);
static inline void ufile_get(struct ufile *uf)
{
	atomic_fetch_add(&uf->refs, 1);
}
struct ufile *fd_get(int fd); /* a reference, or NULL */
void ufile_put(struct ufile *uf);
/* fd_install - reserve a descriptor (>= @min) for @uf, taking a reference. */
int fd_install(struct ufile *uf, int min, bool cloexec);
/*
 * fd_dup_to - dup3(@src, @newfd) and make @newfd name @uf (NULL: a real
 * file again), dropping the udax file @newfd named before, atomically with
 * respect to the table. @src is @uf's descriptor, or a real one.
 */
int fd_dup_to(int src, struct ufile *uf, int newfd, bool cloexec);
int fd_close(int fd);
/* fd_forget_range - drop the udax files of descriptors the kernel has closed. */
void fd_forget_range(unsigned first, unsigned last);
int fd_get_cloexec(int fd);
void fd_set_cloexec(int fd, bool on);

/*
 * ON_UFILE(fd, expr) - evaluate @expr (a long: >= 0, or -errno) with uf set
 * to @fd's open udax file, and return it the libc way (-1 and errno).
 */
#define ON_UFILE(fd, expr)                                                                         \
	(__extension__({                                                                           \
		struct ufile *uf = fd_get(fd);                                                     \
		long r_ = uf ? (long)(expr) : (shim_forked() ? -EIO : -EBADF);                     \
		if (uf)                                                                            \
			ufile_put(uf);                                                             \
		shim_ret(r_);                                                                      \
	}))

/* ---- file.c: shared I/O helpers used by stdio.c and copy_file_range ---- */

/* I/O on @uf: @off < 0 uses and advances the file position. */
ssize_t ufile_io(struct ufile *uf, const struct iovec *iov, int cnt, off_t off, bool write,
		 bool append);
off_t ufile_lseek(struct ufile *uf, off_t off, int whence);
/* shim_chunk_io - read or write one buffer on @fd, udax or not; @off NULL: position. */
ssize_t shim_chunk_io(int fd, void *buf, size_t len, off64_t *off, bool is_write);
/* shim_open - open a udax pool path as a descriptor; -1 and errno on failure. */
int shim_open(const char *ppath, int flags, mode_t mode);

/* ---- map.c, pin.c: buffers in udax mappings passed to other descriptors ---- */

/* Bounds of all udax mappings: lo > hi (hi == 0) when there are none. */
extern _Atomic uintptr_t shim_maps_lo, shim_maps_hi;

/*
 * buf_maybe_udax - whether [buf, +len) may hold udax mappings. The hot path
 * of every buffer call on another descriptor: with no udax mapping, one
 * relaxed load (hi is 0) and a branch.
 */
static inline bool buf_maybe_udax(const void *buf, size_t len)
{
	uintptr_t a = (uintptr_t)buf;

	return a < atomic_load_explicit(&shim_maps_hi, memory_order_relaxed) && len &&
	       (a + len < a || a + len > atomic_load_explicit(&shim_maps_lo, memory_order_relaxed));
}

/* iov_maybe_udax - the same for a vector (bad vectors are left to the kernel). */
static inline bool iov_maybe_udax(const struct iovec *iov, int cnt)
{
	if (!atomic_load_explicit(&shim_maps_hi, memory_order_relaxed) || !iov || cnt < 0 ||
	    cnt > IOV_MAX)
		return false;
	for (int i = 0; i < cnt; i++)
		if (buf_maybe_udax(iov[i].iov_base, iov[i].iov_len))
			return true;
	return false;
}

/* map_udax_piece - the first part [*ps, *pe) of [s, e) inside one registry entry. */
bool map_udax_piece(uintptr_t s, uintptr_t e, uintptr_t *ps, uintptr_t *pe);

/* The calls pin.c runs with the udax parts of their buffers pinned. */
enum pin_op {
	PIN_READ,
	PIN_PREAD,
	PIN_READV,
	PIN_PREADV,
	PIN_PREADV2,
	PIN_RECV,
	PIN_RECVFROM,
	PIN_RECVMSG,
	PIN_WRITE, /* from here on the kernel only reads the buffers */
	PIN_PWRITE,
	PIN_WRITEV,
	PIN_PWRITEV,
	PIN_PWRITEV2,
	PIN_SEND,
	PIN_SENDTO,
	PIN_SENDMSG,
};

struct pin_call {
	enum pin_op op;
	int fd;
	off_t off;
	int flags; /* RWF_* or MSG_* */
	const struct sockaddr *to;
	socklen_t tolen;
	struct sockaddr *from;
	socklen_t *fromlen;
	struct msghdr *msg;
};

/*
 * pin_call - run @c on a real descriptor with the udax parts of @iov pinned
 * (docs/posix-shim.md, "Buffers in udax mappings"); the libc way.
 */
ssize_t pin_call(const struct pin_call *c, const struct iovec *iov, int cnt);

/*
 * pin_buf - pin [buf, +len) for a call that stores into it: a token for
 * unpin_buf(), with the address the call must use in *addr; NULL and errno
 * (EFAULT, ENOMEM) if it cannot be pinned.
 */
void *pin_buf(void *buf, size_t len, void **addr);
void unpin_buf(void *token); /* keeps errno */

/*
 * KSTORES(buf, len, expr) - evaluate @expr, a libc call that stores into
 * @buf (an identifier), with the udax part of [buf, +len) pinned; @expr sees
 * @buf as the address to use. Otherwise one load, as buf_maybe_udax().
 */
#define KSTORES(buf, len, expr)                                                                    \
	(__extension__({                                                                           \
		long ks_r_ = -1;                                                                   \
		if (!buf_maybe_udax(buf, len)) {                                                   \
			ks_r_ = (long)(expr);                                                      \
		} else {                                                                           \
			void *ks_a_, *ks_t_ = pin_buf(buf, len, &ks_a_);                           \
			if (ks_t_) {                                                               \
				__typeof__(buf) buf = ks_a_;                                       \
				ks_r_ = (long)(expr);                                              \
				unpin_buf(ks_t_);                                                  \
			}                                                                          \
		}                                                                                  \
		ks_r_;                                                                             \
	}))

/* ---- lock.c: process-local flock and OFD lock emulation ---- */

struct flock;
int lock_flock(struct ufile *uf, int op);
int lock_ofd(struct ufile *uf, int cmd, struct flock *fl);
/* lock_range - the byte range and access check of @fl on @uf (also for F_SETLK). */
int lock_range(struct ufile *uf, const struct flock *fl, uint64_t *start, uint64_t *end);
void lock_release_all(struct ufile *uf);

/* ---- ptrreg.c: registry of the DIR and FILE pointers the shim made ---- */

struct ptrreg;
extern struct ptrreg shim_dirs, shim_streams;
int ptrreg_add(struct ptrreg *r, const void *p, void *val);
/* ptrreg_find - the value registered for @p, or NULL (cheap when empty). */
void *ptrreg_find(struct ptrreg *r, const void *p);
void *ptrreg_del(struct ptrreg *r, const void *p);

#endif
