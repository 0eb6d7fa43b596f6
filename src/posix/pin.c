// SPDX-License-Identifier: MIT
/*
 * Buffers in udax mappings passed to system calls on other descriptors
 * (docs/posix-shim.md, "Buffers in udax mappings"): a write to a pipe or a
 * socket from a mapping, a read (O_DIRECT or not) into one.
 *
 * The kernel cannot take udax's faults: an access of its own to a page the
 * fault engine has not installed yet fails the call with EFAULT, and a layout
 * change may unmap the page while the call uses it. So, for the duration of
 * the call, the udax parts of its buffers are pinned (udax_pin: faulted in
 * and referenced, so that truncate and punch wait), and the call is given an
 * alias of the pinned pages instead: a mapping of the pool's backing at
 * their media offsets, which a layout change does not unmap. Data therefore
 * lands in (or comes from) the pinned blocks even if a truncate has unmapped
 * the application's view meanwhile; the truncate frees them after the call.
 *
 * Private mappings cannot be pinned (their copies have no layout to protect):
 * their pages are faulted in and the call uses the addresses themselves.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "posix/shim.h"
#include "vm/vm.h"

#define PIN_PAGE       4096UL
#define IOV1(buf, len) (&(struct iovec){.iov_base = (void *)(buf), .iov_len = (len)})

/* One udax part of a buffer: its pin (NULL: only faulted in) and its alias. */
struct piece {
	struct udax_pin *pin;
	void *alias;
	size_t alias_len;
};

struct pinset {
	struct piece *piece;
	int npieces, piece_cap;
	struct iovec *iov; /* what the call is given */
	int cnt, iov_cap;
};

/* ---- the pool's backing, through which aliases map pinned pages ---------- */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int pool_fd = -1;
static bool pool_writable;
static dev_t pool_dev;
static ino_t pool_ino;

/*
 * The descriptor of the pool's backing, or -1. The program may close any
 * descriptor number (closefrom), so the file behind it is checked each time
 * and reopened if it is not the pool any more.
 */
static int pool_backing(bool *writable)
{
	struct stat st;
	int fd;

	pthread_mutex_lock(&pool_lock);
	if (pool_fd >= 0 &&
	    (REAL(fstat)(pool_fd, &st) || st.st_dev != pool_dev || st.st_ino != pool_ino))
		pool_fd = -1; /* not ours to close any more */
	if (pool_fd < 0 && shim_pool_path()) {
		pool_writable = true;
		fd = REAL(open)(shim_pool_path(), O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			pool_writable = false;
			fd = REAL(open)(shim_pool_path(), O_RDONLY | O_CLOEXEC);
		}
		if (fd >= 0 && !REAL(fstat)(fd, &st)) {
			pool_fd = fd;
			pool_dev = st.st_dev;
			pool_ino = st.st_ino;
		} else if (fd >= 0) {
			REAL(close)(fd);
		}
	}
	fd = pool_fd;
	*writable = pool_writable;
	pthread_mutex_unlock(&pool_lock);
	return fd;
}

/*
 * make_alias - map the pages of @pin, which covers [s, e), at a new address
 * and return the one that corresponds to @s; NULL if that cannot be done
 * (the call then uses @s: still pinned, but no longer safe from an unmap).
 */
static void *make_alias(struct udax_pin *pin, uintptr_t s, bool kstores, size_t *alias_len)
{
	uint64_t n = udax_pin_pages(pin);
	int prot = kstores ? PROT_READ | PROT_WRITE : PROT_READ;
	bool writable;
	int fd = pool_backing(&writable);
	char *base;

	if (fd < 0 || (kstores && !writable))
		return NULL;
	base = REAL(mmap)(NULL, n * PIN_PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	for (uint64_t i = 0, run; i < n; i += run) {
		int64_t off = udax_pin_media_offset(pin, i);

		for (run = 1; i + run < n && udax_pin_media_offset(pin, i + run) ==
						     off + (int64_t)(run * PIN_PAGE);
		     run++)
			;
		/* A device-DAX backing refuses 4 KiB mappings: no alias then. */
		if (off < 0 || REAL(mmap)(base + i * PIN_PAGE, run * PIN_PAGE, prot,
					  MAP_SHARED | MAP_FIXED, fd, off) == MAP_FAILED) {
			REAL(munmap)(base, n * PIN_PAGE);
			return NULL;
		}
	}
	*alias_len = n * PIN_PAGE;
	return base + (s & (PIN_PAGE - 1));
}

/* ---- pinning the udax parts of a vector --------------------------------- */

static int grow(void **arr, int *cap, int need, size_t size)
{
	void *p;
	int n;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 8;
	n = n < need ? need : n;
	p = realloc(*arr, (size_t)n * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int emit(struct pinset *ps, void *base, size_t len)
{
	int r = grow((void **)&ps->iov, &ps->iov_cap, ps->cnt + 1, sizeof(*ps->iov));

	if (!r)
		ps->iov[ps->cnt++] = (struct iovec){.iov_base = base, .iov_len = len};
	return r;
}

/* Faults in [s, e) of a mapping that is not pinned (private, or read-only). */
static int fault_in(uintptr_t s, uintptr_t e, bool kstores)
{
	for (uintptr_t a = s & ~(PIN_PAGE - 1); a < e; a += PIN_PAGE)
		if (vm_fault_at((void *)(a < s ? s : a), kstores))
			return -EFAULT;
	return 0;
}

/*
 * pin_piece - pin [s, e) (inside one udax mapping) and emit what the call
 * uses for it. The kernel reading the buffer only needs the pages readable,
 * but udax_pin without UDAX_PIN_WRITE cannot pin a hole (it shows the zero
 * page, no media page): a writable mapping is pinned for writing, which
 * allocates its holes, and a read-only one is faulted in.
 */
static int pin_piece(struct pinset *ps, uintptr_t s, uintptr_t e, bool kstores)
{
	struct piece *pc;
	struct udax_pin *pin = NULL;
	void *alias = NULL;
	size_t alias_len = 0;
	int r;

	r = grow((void **)&ps->piece, &ps->piece_cap, ps->npieces + 1, sizeof(*ps->piece));
	if (r)
		return r;
	r = udax_pin((void *)s, e - s, UDAX_PIN_WRITE, &pin);
	if (r == -EINVAL || (r == -EFAULT && !kstores))
		r = fault_in(s, e, kstores); /* private, or read-only */
	else if (!r)
		alias = make_alias(pin, s, kstores, &alias_len);
	if (r)
		return r == -ENOMEM ? r : -EFAULT;
	pc = &ps->piece[ps->npieces++];
	*pc = (struct piece){.pin = pin, .alias = alias, .alias_len = alias_len};
	return emit(ps, alias ? alias : (void *)s, e - s);
}

static void unpin_all(void *arg)
{
	struct pinset *ps = arg;

	for (int i = 0; i < ps->npieces; i++) {
		struct piece *pc = &ps->piece[i];
		void *base = (void *)((uintptr_t)pc->alias & ~(PIN_PAGE - 1));

		if (pc->alias)
			REAL(munmap)(base, pc->alias_len);
		udax_unpin(pc->pin);
	}
	free(ps->piece);
	free(ps->iov);
}

/* pin_all - pin the udax parts of @iov, building the vector the call is given. */
static int pin_all(struct pinset *ps, const struct iovec *iov, int cnt, bool kstores)
{
	int r = 0;

	for (int i = 0; !r && i < cnt; i++) {
		uintptr_t s = (uintptr_t)iov[i].iov_base, e = s + iov[i].iov_len, ms, me;

		if (e < s)
			e = UINTPTR_MAX;
		while (!r && s < e && map_udax_piece(s, e, &ms, &me)) {
			if (ms > s)
				r = emit(ps, (void *)s, ms - s);
			if (!r)
				r = pin_piece(ps, ms, me, kstores);
			s = me;
		}
		if (!r && (s < e || !iov[i].iov_len))
			r = emit(ps, (void *)s, e - s);
	}
	return r;
}

/* ---- the calls ------------------------------------------------------------- */

static ssize_t vec_sendmsg(const struct pin_call *c, struct iovec *iov, int cnt)
{
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};

	if (c->msg) {
		m = *c->msg;
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)cnt;
	} else if (c->to) {
		m.msg_name = (void *)c->to;
		m.msg_namelen = c->tolen;
	}
	return REAL(sendmsg)(c->fd, &m, c->flags);
}

static ssize_t vec_recvmsg(const struct pin_call *c, struct iovec *iov, int cnt)
{
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
	ssize_t r;

	if (c->msg) {
		m = *c->msg;
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)cnt;
	} else if (c->from && c->fromlen) {
		m.msg_name = c->from;
		m.msg_namelen = *c->fromlen;
	}
	r = REAL(recvmsg)(c->fd, &m, c->flags);
	if (r >= 0 && c->msg) {
		c->msg->msg_namelen = m.msg_namelen;
		c->msg->msg_controllen = m.msg_controllen;
		c->msg->msg_flags = m.msg_flags;
	} else if (r >= 0 && c->from && c->fromlen) {
		*c->fromlen = m.msg_namelen;
	}
	return r;
}

/* The call on @iov: the single-buffer calls take the vector form if it has more parts. */
static ssize_t run(const struct pin_call *c, struct iovec *iov, int cnt)
{
	bool one = cnt == 1;
	void *b = cnt ? iov[0].iov_base : NULL;
	size_t n = cnt ? iov[0].iov_len : 0;

	switch (c->op) {
	case PIN_READ:
		return one ? REAL(read)(c->fd, b, n) : REAL(readv)(c->fd, iov, cnt);
	case PIN_WRITE:
		return one ? REAL(write)(c->fd, b, n) : REAL(writev)(c->fd, iov, cnt);
	case PIN_PREAD:
		return one ? REAL(pread)(c->fd, b, n, c->off)
			   : REAL(preadv)(c->fd, iov, cnt, c->off);
	case PIN_PWRITE:
		return one ? REAL(pwrite)(c->fd, b, n, c->off)
			   : REAL(pwritev)(c->fd, iov, cnt, c->off);
	case PIN_READV:
		return REAL(readv)(c->fd, iov, cnt);
	case PIN_WRITEV:
		return REAL(writev)(c->fd, iov, cnt);
	case PIN_PREADV:
		return REAL(preadv)(c->fd, iov, cnt, c->off);
	case PIN_PWRITEV:
		return REAL(pwritev)(c->fd, iov, cnt, c->off);
	case PIN_PREADV2:
		return REAL(preadv2)(c->fd, iov, cnt, c->off, c->flags);
	case PIN_PWRITEV2:
		return REAL(pwritev2)(c->fd, iov, cnt, c->off, c->flags);
	case PIN_SEND:
		return one ? REAL(send)(c->fd, b, n, c->flags) : vec_sendmsg(c, iov, cnt);
	case PIN_SENDTO:
		return one ? REAL(sendto)(c->fd, b, n, c->flags, c->to, c->tolen)
			   : vec_sendmsg(c, iov, cnt);
	case PIN_RECV:
		return one ? REAL(recv)(c->fd, b, n, c->flags) : vec_recvmsg(c, iov, cnt);
	case PIN_RECVFROM:
		return one ? REAL(recvfrom)(c->fd, b, n, c->flags, c->from, c->fromlen)
			   : vec_recvmsg(c, iov, cnt);
	case PIN_SENDMSG:
		return vec_sendmsg(c, iov, cnt);
	case PIN_RECVMSG:
		return vec_recvmsg(c, iov, cnt);
	}
	return -1;
}

ssize_t pin_call(const struct pin_call *c, const struct iovec *iov, int cnt)
{
	struct pinset ps = {0};
	ssize_t ret;
	int r, e;

	/* In a forked child the udax state is the parent's: the kernel has the call. */
	if (shim_forked())
		return run(c, (struct iovec *)iov, cnt);
	r = pin_all(&ps, iov, cnt, c->op < PIN_WRITE);
	if (r) {
		unpin_all(&ps);
		return shim_ret(r);
	}
	/*
	 * A cancelled call (read and write are cancellation points) still
	 * unpins. With too many parts for one call, the pins stay and the call
	 * is given the addresses.
	 */
	pthread_cleanup_push(unpin_all, &ps);
	ret = ps.cnt > IOV_MAX ? run(c, (struct iovec *)iov, cnt) : run(c, ps.iov, ps.cnt);
	e = errno;
	pthread_cleanup_pop(1);
	errno = e;
	return ret;
}

/* The token of a call made without pins (in a forked child). */
static char no_pins;

void *pin_buf(void *buf, size_t len, void **addr)
{
	struct pinset *ps;
	int r;

	*addr = buf;
	if (shim_forked())
		return &no_pins;
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		errno = ENOMEM;
		return NULL;
	}
	r = pin_all(ps, IOV1(buf, len), 1, true);
	if (r) {
		unpin_all(ps);
		free(ps);
		errno = -r;
		return NULL;
	}
	/* A buffer that is partly udax's cannot be aliased as one: its address, pinned. */
	if (ps->cnt == 1)
		*addr = ps->iov[0].iov_base;
	return ps;
}

void unpin_buf(void *token)
{
	int e = errno;

	if (token != &no_pins) {
		unpin_all(token);
		free(token);
	}
	errno = e;
}

/* ---- socket calls: sockets are never udax descriptors ------------------------ */

SHIM_API ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (!buf_maybe_udax(buf, len))
		return REAL(send)(fd, buf, len, flags);
	return pin_call(&(struct pin_call){.op = PIN_SEND, .fd = fd, .flags = flags},
			IOV1(buf, len), 1);
}

SHIM_API ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
			socklen_t tolen)
{
	if (!buf_maybe_udax(buf, len))
		return REAL(sendto)(fd, buf, len, flags, to, tolen);
	return pin_call(
		&(struct pin_call){
			.op = PIN_SENDTO, .fd = fd, .flags = flags, .to = to, .tolen = tolen},
		IOV1(buf, len), 1);
}

SHIM_API ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	if (!buf_maybe_udax(buf, len))
		return REAL(recv)(fd, buf, len, flags);
	return pin_call(&(struct pin_call){.op = PIN_RECV, .fd = fd, .flags = flags},
			IOV1(buf, len), 1);
}

SHIM_API ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
			  socklen_t *fromlen)
{
	if (!buf_maybe_udax(buf, len))
		return REAL(recvfrom)(fd, buf, len, flags, from, fromlen);
	return pin_call(&(struct pin_call){.op = PIN_RECVFROM,
					   .fd = fd,
					   .flags = flags,
					   .from = from,
					   .fromlen = fromlen},
			IOV1(buf, len), 1);
}

static bool msg_maybe_udax(const struct msghdr *msg)
{
	return msg && msg->msg_iovlen <= IOV_MAX &&
	       iov_maybe_udax(msg->msg_iov, (int)msg->msg_iovlen);
}

SHIM_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!msg_maybe_udax(msg))
		return REAL(sendmsg)(fd, msg, flags);
	return pin_call(
		&(struct pin_call){
			.op = PIN_SENDMSG, .fd = fd, .flags = flags, .msg = (struct msghdr *)msg},
		msg->msg_iov, (int)msg->msg_iovlen);
}

SHIM_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!msg_maybe_udax(msg))
		return REAL(recvmsg)(fd, msg, flags);
	return pin_call(&(struct pin_call){.op = PIN_RECVMSG, .fd = fd, .flags = flags, .msg = msg},
			msg->msg_iov, (int)msg->msg_iovlen);
}

/* The _FORTIFY_SOURCE entry points: libc checks the buffer size and aborts. */
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fromlen);

SHIM_API ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen || !buf_maybe_udax(buf, len))
		return REAL(__recv_chk)(fd, buf, len, buflen, flags);
	return recv(fd, buf, len, flags);
}

SHIM_API ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				struct sockaddr *from, socklen_t *fromlen)
{
	if (len > buflen || !buf_maybe_udax(buf, len))
		return REAL(__recvfrom_chk)(fd, buf, len, buflen, flags, from, fromlen);
	return recvfrom(fd, buf, len, flags, from, fromlen);
}
