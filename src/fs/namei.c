// SPDX-License-Identifier: MIT
/* Path resolution and the namespace operations (open, mkdir, unlink, rename...). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "fs/fs.h"
#include "fs/udaxfs.h"

/* The result of resolving a path: the last component and its parent. */
struct lookup {
	uint64_t parent;
	const char *name; /* NULL for the root */
	unsigned len;
	uint64_t ino; /* 0: the last component does not exist */
	struct dir_slot slot;
	bool must_dir; /* the path ended in '/' */
};

static bool is_dot(const char *name, unsigned len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

static int dir_parent(struct udaxfs *fs, uint64_t dir, uint64_t *parent)
{
	struct udaxfs_inode di;
	int ret = inode_read(fs, dir, &di);

	if (!ret)
		*parent = di.parent;
	return ret;
}

/* Steps from directory *cur into @name (which may be "." or ".."). */
static int step(struct udaxfs *fs, const char *path, uint64_t *cur, const char *name, unsigned len)
{
	struct udaxfs_inode di;
	uint64_t next;
	int ret;

	if (len == 1 && name[0] == '.')
		return 0;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return dir_parent(fs, *cur, cur);
	ret = dir_lookup(fs, *cur, name, len, &next, NULL);
	if (ret == -ENOENT)
		return udax_err(ENOENT, "%s: no such file or directory", path);
	if (!ret)
		ret = inode_read(fs, next, &di);
	if (!ret && !S_ISDIR(di.mode))
		return udax_err(ENOTDIR, "%s: a path component is not a directory", path);
	if (!ret)
		*cur = next;
	return ret;
}

static int path_lookup(struct udaxfs *fs, const char *path, struct lookup *lk)
{
	const char *p = path, *name;
	size_t plen;
	unsigned len;
	int ret;

	memset(lk, 0, sizeof(*lk));
	if (!path)
		return udax_err(EFAULT, "NULL path");
	plen = strlen(path);
	if (plen == 0)
		return udax_err(ENOENT, "empty path");
	if (plen >= PATH_MAX)
		return udax_err(ENAMETOOLONG, "path of %zu bytes is too long", plen);
	lk->must_dir = path[plen - 1] == '/';
	lk->parent = UDAXFS_ROOT_INO;
	lk->ino = UDAXFS_ROOT_INO;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return 0;
		name = p;
		while (*p && *p != '/')
			p++;
		if (p - name > UDAXFS_NAME_MAX)
			return udax_err(ENAMETOOLONG, "%s: a name is longer than %u bytes", path,
					UDAXFS_NAME_MAX);
		len = (unsigned)(p - name);
		while (*p == '/')
			p++;
		if (!*p)
			break;
		ret = step(fs, path, &lk->ino, name, len);
		if (ret)
			return ret;
	}
	lk->parent = lk->ino;
	lk->name = name;
	lk->len = len;
	if (is_dot(name, len)) {
		lk->ino = lk->parent;
		return step(fs, path, &lk->ino, name, len);
	}
	ret = dir_lookup(fs, lk->parent, name, len, &lk->ino, &lk->slot);
	if (ret == -ENOENT) {
		lk->ino = 0;
		ret = 0;
	}
	return ret;
}

/* Resolves @path, which must exist; *di gets its inode. */
static int lookup_existing(struct udaxfs *fs, const char *path, struct lookup *lk,
			   struct udaxfs_inode *di)
{
	int ret = path_lookup(fs, path, lk);

	if (!ret && !lk->ino)
		ret = udax_err(ENOENT, "%s: no such file or directory", path);
	if (!ret)
		ret = inode_read(fs, lk->ino, di);
	if (!ret && lk->must_dir && !S_ISDIR(di->mode))
		ret = udax_err(ENOTDIR, "%s: not a directory", path);
	return ret;
}

static int nlink_add(struct udaxfs *fs, uint64_t ino, int delta)
{
	struct udaxfs_inode di;
	int ret = inode_read(fs, ino, &di);

	if (ret)
		return ret;
	di.nlink += (uint32_t)delta;
	inode_touch(&di, false);
	return inode_write_lazy(fs, ino, &di);
}

/* Creates inode @mode named by @lk (which does not exist) and links it in. */
static int create_in(struct udaxfs *fs, const struct lookup *lk, uint32_t mode, uint64_t *ino)
{
	struct udaxfs_inode di, pdi;
	bool dir = S_ISDIR(mode);
	int ret;

	ret = inode_alloc(fs, mode, ino, &di);
	if (ret)
		return ret;
	di.nlink = dir ? 2 : 1;
	di.parent = lk->parent;
	ret = inode_write(fs, *ino, &di);
	if (!ret)
		ret = inode_read(fs, lk->parent, &pdi);
	if (!ret && dir)
		pdi.nlink++;
	if (!ret)
		ret = dir_add(fs, lk->parent, &pdi, lk->name, lk->len, *ino, dir ? DT_DIR : DT_REG);
	return ret;
}

static int do_open(struct udaxfs *fs, const char *path, int flags, unsigned mode,
		   struct udaxfs_node **out)
{
	int acc = flags & O_ACCMODE;
	struct udaxfs_inode di;
	struct lookup lk;
	uint64_t ino;
	int ret = path_lookup(fs, path, &lk);

	if (ret)
		return ret;
	if (!lk.ino) {
		if (!(flags & O_CREAT))
			return udax_err(ENOENT, "%s: no such file or directory", path);
		if (lk.must_dir)
			return udax_err(EISDIR, "%s: cannot create a file named with a '/'", path);
		ret = create_in(fs, &lk, S_IFREG | (mode & 07777), &ino);
	} else {
		ino = lk.ino;
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			return udax_err(EEXIST, "%s: file exists", path);
		ret = inode_read(fs, ino, &di);
		if (!ret && S_ISDIR(di.mode) && (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT))))
			return udax_err(EISDIR, "%s: is a directory", path);
		if (!ret && !S_ISDIR(di.mode) && (lk.must_dir || (flags & O_DIRECTORY)))
			return udax_err(ENOTDIR, "%s: not a directory", path);
	}
	if (ret)
		return ret;
	*out = node_get(fs, ino);
	if (!*out)
		return -ENOMEM;
	ret = (*out)->refs == 1 ? inode_zero_past_eof(fs, ino) : 0;
	if (ret)
		node_put(*out);
	return ret;
}

/* Flags with nothing to do here: I/O is synchronous and direct, there are no links or ttys. */
#define OPEN_IGNORED                                                                               \
	(O_CLOEXEC | O_SYNC | O_DSYNC | O_DIRECT | O_NOATIME | O_NONBLOCK | O_NOCTTY |             \
	 O_NOFOLLOW | O_LARGEFILE)
#define OPEN_KNOWN (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | OPEN_IGNORED)

int udaxfs_open(struct udaxfs *fs, const char *path, int flags, unsigned mode,
		struct udaxfs_node **out)
{
	if ((flags & O_ACCMODE) == O_ACCMODE || (flags & ~OPEN_KNOWN))
		return udax_err(EINVAL, "%s: unsupported open flags 0x%x", path ? path : "", flags);
	fs_enter(fs);
	return fs_leave(fs, do_open(fs, path, flags, mode, out));
}

static int do_opendir(struct udaxfs *fs, const char *path, struct udaxfs_node **out)
{
	struct udaxfs_inode di;
	struct lookup lk;
	int ret = lookup_existing(fs, path, &lk, &di);

	if (!ret && !S_ISDIR(di.mode))
		ret = udax_err(ENOTDIR, "%s: not a directory", path);
	if (ret)
		return ret;
	*out = node_get(fs, lk.ino);
	return *out ? 0 : -ENOMEM;
}

int udaxfs_opendir(struct udaxfs *fs, const char *path, struct udaxfs_node **out)
{
	fs_enter(fs);
	return fs_leave(fs, do_opendir(fs, path, out));
}

int udaxfs_close(struct udaxfs_node *node)
{
	struct udaxfs *fs = node->fs;
	int ret;

	pthread_mutex_lock(&fs->lock);
	ret = node_put(node);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

uint64_t udaxfs_node_ino(const struct udaxfs_node *node)
{
	return node->ino;
}

bool udaxfs_node_is_last(struct udaxfs_node *node)
{
	struct udaxfs *fs = node->fs;
	struct udaxfs_inode di;
	bool last;

	pthread_mutex_lock(&fs->lock);
	last = node->refs == 1 && !inode_read(fs, node->ino, &di) && di.nlink == 0;
	pthread_mutex_unlock(&fs->lock);
	return last;
}

void udaxfs_node_read_lock(struct udaxfs_node *node)
{
	pthread_rwlock_rdlock(&node->rw);
}

void udaxfs_node_read_unlock(struct udaxfs_node *node)
{
	pthread_rwlock_unlock(&node->rw);
}

void udaxfs_node_write_lock(struct udaxfs_node *node)
{
	pthread_rwlock_wrlock(&node->rw);
	rc_write_begin(node);
}

void udaxfs_node_write_unlock(struct udaxfs_node *node)
{
	rc_write_end(node);
	pthread_rwlock_unlock(&node->rw);
}

static void fill_stat(uint64_t ino, const struct udaxfs_inode *di, uint64_t blocks,
		      struct udax_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = ino;
	st->mode = di->mode;
	st->nlink = di->nlink;
	st->uid = di->uid;
	st->gid = di->gid;
	st->size = di->size;
	st->blocks = blocks;
	st->atime_ns = di->atime_ns;
	st->mtime_ns = di->mtime_ns;
	st->ctime_ns = di->ctime_ns;
}

static int getattr(struct udaxfs *fs, uint64_t ino, struct udax_stat *st)
{
	struct udaxfs_inode di;
	struct extmap m;
	uint64_t blocks = 0;
	int ret = inode_read(fs, ino, &di);

	if (!ret)
		ret = extmap_load(fs, ino, &di, &m);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < m.n; i++)
		blocks += m.e[i].len;
	extmap_free(&m);
	fill_stat(ino, &di, blocks, st);
	return 0;
}

int udaxfs_getattr(struct udaxfs_node *node, struct udax_stat *st)
{
	fs_enter(node->fs);
	return fs_leave(node->fs, getattr(node->fs, node->ino, st));
}

static int do_stat(struct udaxfs *fs, const char *path, struct udax_stat *st)
{
	struct udaxfs_inode di;
	struct lookup lk;
	int ret = lookup_existing(fs, path, &lk, &di);

	return ret ? ret : getattr(fs, lk.ino, st);
}

int udaxfs_stat(struct udaxfs *fs, const char *path, struct udax_stat *st)
{
	fs_enter(fs);
	return fs_leave(fs, do_stat(fs, path, st));
}

static int do_readdir(struct udaxfs *fs, uint64_t dir, uint64_t *pos, struct udax_dirent *ent)
{
	struct udaxfs_dirent d;
	uint64_t slot;
	int ret;

	memset(ent, 0, sizeof(*ent));
	ent->type = DT_DIR;
	if (*pos < 2) {
		strcpy(ent->name, *pos ? ".." : ".");
		ret = *pos ? dir_parent(fs, dir, &ent->ino) : 0;
		ent->ino = *pos ? ent->ino : dir;
		++*pos;
		return ret ? ret : 1;
	}
	slot = *pos - 2;
	ret = dir_entry_at(fs, dir, &slot, &d);
	if (ret != 1)
		return ret;
	*pos = slot + 2;
	ent->ino = d.ino;
	ent->type = d.type;
	memcpy(ent->name, d.name, d.name_len);
	return 1;
}

int udaxfs_readdir(struct udaxfs_node *dir, uint64_t *pos, struct udax_dirent *ent)
{
	fs_enter(dir->fs);
	return fs_leave(dir->fs, do_readdir(dir->fs, dir->ino, pos, ent));
}

static int do_mkdir(struct udaxfs *fs, const char *path, unsigned mode)
{
	struct lookup lk;
	uint64_t ino;
	int ret = path_lookup(fs, path, &lk);

	if (!ret && lk.ino)
		ret = udax_err(EEXIST, "%s: file exists", path);
	return ret ? ret : create_in(fs, &lk, S_IFDIR | (mode & 07777), &ino);
}

int udaxfs_mkdir(struct udaxfs *fs, const char *path, unsigned mode)
{
	fs_enter(fs);
	return fs_leave(fs, do_mkdir(fs, path, mode));
}

/* Drops one name of @ino (a directory loses its only one); frees it if unused. */
static int drop_name(struct udaxfs *fs, uint64_t ino, uint64_t parent)
{
	struct udaxfs_inode di;
	int ret = inode_read(fs, ino, &di);

	if (!ret && !di.nlink)
		ret = udax_err(EUCLEAN, "inode %llu: named, but its link count is 0",
			       (unsigned long long)ino);
	if (ret)
		return ret;
	if (S_ISDIR(di.mode)) {
		di.nlink = 0;
		ret = nlink_add(fs, parent, -1);
	} else {
		di.nlink--;
	}
	if (!di.nlink)
		di.flags |= UDAXFS_INODE_ORPHAN;
	inode_touch(&di, false);
	if (!ret)
		ret = inode_write(fs, ino, &di);
	if (!ret && !di.nlink && !node_is_open(fs, ino))
		ret = inode_release(fs, ino);
	return ret;
}

static int touch_dir(struct udaxfs *fs, uint64_t dir)
{
	struct udaxfs_inode di;
	int ret = inode_read(fs, dir, &di);

	if (ret)
		return ret;
	inode_touch(&di, true);
	return inode_write_lazy(fs, dir, &di);
}

static int do_remove(struct udaxfs *fs, const char *path, bool rmdir)
{
	struct udaxfs_inode di;
	struct lookup lk;
	int ret = lookup_existing(fs, path, &lk, &di);

	if (ret)
		return ret;
	if (lk.ino == UDAXFS_ROOT_INO)
		return udax_err(EBUSY, "%s: cannot remove the root directory", path);
	if (is_dot(lk.name, lk.len))
		return udax_err(rmdir ? EINVAL : EISDIR, "%s: cannot remove '.' or '..'", path);
	if (rmdir && !S_ISDIR(di.mode))
		return udax_err(ENOTDIR, "%s: not a directory", path);
	if (!rmdir && S_ISDIR(di.mode))
		return udax_err(EISDIR, "%s: is a directory", path);
	if (rmdir) {
		ret = dir_is_empty(fs, lk.ino);
		if (ret <= 0)
			return ret ? ret : udax_err(ENOTEMPTY, "%s: directory not empty", path);
	}
	ret = dir_remove(fs, &lk.slot);
	if (!ret)
		ret = drop_name(fs, lk.ino, lk.parent);
	return ret ? ret : touch_dir(fs, lk.parent);
}

int udaxfs_unlink(struct udaxfs *fs, const char *path)
{
	fs_enter(fs);
	return fs_leave(fs, do_remove(fs, path, false));
}

int udaxfs_rmdir(struct udaxfs *fs, const char *path)
{
	fs_enter(fs);
	return fs_leave(fs, do_remove(fs, path, true));
}

static int do_link(struct udaxfs *fs, const char *oldpath, const char *newpath)
{
	struct udaxfs_inode di, pdi;
	struct lookup src, dst;
	int ret = lookup_existing(fs, oldpath, &src, &di);

	if (!ret && S_ISDIR(di.mode))
		ret = udax_err(EPERM, "%s: cannot link a directory", oldpath);
	if (!ret)
		ret = path_lookup(fs, newpath, &dst);
	if (!ret && dst.ino)
		ret = udax_err(EEXIST, "%s: file exists", newpath);
	if (!ret && dst.must_dir)
		ret = udax_err(ENOENT, "%s: no such directory", newpath);
	if (!ret)
		ret = nlink_add(fs, src.ino, 1);
	if (!ret)
		ret = inode_read(fs, dst.parent, &pdi);
	return ret ? ret : dir_add(fs, dst.parent, &pdi, dst.name, dst.len, src.ino, DT_REG);
}

int udaxfs_link(struct udaxfs *fs, const char *oldpath, const char *newpath)
{
	fs_enter(fs);
	return fs_leave(fs, do_link(fs, oldpath, newpath));
}

/* Is directory @anc an ancestor of (or equal to) directory @dir? */
static int is_ancestor(struct udaxfs *fs, uint64_t anc, uint64_t dir)
{
	for (uint64_t hops = 0; hops < fs->sb.ninodes; hops++) {
		uint64_t up;
		int ret;

		if (dir == anc)
			return 1;
		if (dir == UDAXFS_ROOT_INO)
			return 0;
		ret = dir_parent(fs, dir, &up);
		if (ret)
			return ret;
		dir = up;
	}
	return udax_err(EUCLEAN, "directory parent chain loops");
}

static int rename_check(struct udaxfs *fs, const char *oldpath, const char *newpath,
			const struct lookup *src, const struct udaxfs_inode *sdi,
			const struct lookup *dst)
{
	struct udaxfs_inode ddi;
	int ret;

	if (src->ino == UDAXFS_ROOT_INO || !dst->name)
		return udax_err(EBUSY, "rename %s to %s: the root cannot be renamed or replaced",
				oldpath, newpath);
	if (is_dot(src->name, src->len) || is_dot(dst->name, dst->len))
		return udax_err(EINVAL, "rename %s to %s: cannot rename '.' or '..'", oldpath,
				newpath);
	if (S_ISDIR(sdi->mode)) {
		ret = is_ancestor(fs, src->ino, dst->parent);
		if (ret)
			return ret < 0 ? ret
				       : udax_err(EINVAL, "rename %s to %s: into its own subtree",
						  oldpath, newpath);
	} else if (dst->must_dir) {
		return udax_err(ENOTDIR, "%s: not a directory", newpath);
	}
	if (!dst->ino)
		return 0;
	ret = inode_read(fs, dst->ino, &ddi);
	if (ret)
		return ret;
	if (S_ISDIR(sdi->mode) && !S_ISDIR(ddi.mode))
		return udax_err(ENOTDIR, "%s: not a directory", newpath);
	if (!S_ISDIR(sdi->mode) && S_ISDIR(ddi.mode))
		return udax_err(EISDIR, "%s: is a directory", newpath);
	if (S_ISDIR(ddi.mode)) {
		ret = dir_is_empty(fs, dst->ino);
		if (ret <= 0)
			return ret ? ret : udax_err(ENOTEMPTY, "%s: directory not empty", newpath);
	}
	return 0;
}

/* Moves directory @ino from @from to @to: its parent and both link counts. */
static int reparent(struct udaxfs *fs, uint64_t ino, uint64_t from, uint64_t to)
{
	struct udaxfs_inode di;
	int ret = inode_read(fs, ino, &di);

	if (ret)
		return ret;
	di.parent = to;
	ret = inode_write(fs, ino, &di);
	if (!ret)
		ret = nlink_add(fs, from, -1);
	return ret ? ret : nlink_add(fs, to, 1);
}

static int do_rename(struct udaxfs *fs, const char *oldpath, const char *newpath)
{
	struct udaxfs_inode sdi, pdi;
	struct lookup src, dst;
	uint8_t type;
	int ret = lookup_existing(fs, oldpath, &src, &sdi);

	if (!ret)
		ret = path_lookup(fs, newpath, &dst);
	if (!ret)
		ret = rename_check(fs, oldpath, newpath, &src, &sdi, &dst);
	if (ret || dst.ino == src.ino)
		return ret;
	type = S_ISDIR(sdi.mode) ? DT_DIR : DT_REG;
	if (dst.ino) {
		ret = dir_set(fs, &dst.slot, src.ino, type);
		if (!ret)
			ret = drop_name(fs, dst.ino, dst.parent);
	} else {
		ret = inode_read(fs, dst.parent, &pdi);
		if (!ret)
			ret = dir_add(fs, dst.parent, &pdi, dst.name, dst.len, src.ino, type);
	}
	if (!ret)
		ret = dir_remove(fs, &src.slot);
	if (!ret && S_ISDIR(sdi.mode) && src.parent != dst.parent)
		ret = reparent(fs, src.ino, src.parent, dst.parent);
	if (!ret)
		ret = nlink_add(fs, src.ino, 0);
	if (!ret)
		ret = touch_dir(fs, src.parent);
	return ret ? ret : touch_dir(fs, dst.parent);
}

int udaxfs_rename(struct udaxfs *fs, const char *oldpath, const char *newpath)
{
	fs_enter(fs);
	return fs_leave(fs, do_rename(fs, oldpath, newpath));
}
