/* Host interfaces of NF instances: veth pairs over rtnetlink, their settings, their OVS ports. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>

#include "orchestrator/netdev.h"

#define NL_BUF_SIZE 4096
#define NL_TIMEOUT_MS 2000
#define RUN_ERR_SIZE 1024		/* stderr kept of a program run */
#define OFPORT_POLL_MS 20
#define OVS_DEFAULT_TIMEOUT_MS 10000
#define OVS_MAX_PORTS 8

extern char **environ;

/* Write a reason into the caller's buffer and return 'ret' (a negative errno). */
static int netdev_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int netdev_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static uint64_t netdev_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool netdev_name_ok(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] == 0x7f)
			return false;
	return true;
}

static int netdev_check_name(const char *name, char *err, size_t errsz)
{
	if (netdev_name_ok(name))
		return 0;
	return netdev_fail(-EINVAL, err, errsz, "'%s': not a valid interface name (1-15 characters)",
			   name != NULL ? name : "(null)");
}

/* ---- rtnetlink ---- */

/* A request under construction: one netlink message in 'buf'. */
struct nl_req {
	union {
		struct nlmsghdr h;
		char buf[NL_BUF_SIZE];
	};
	bool overflow;
};

static void nl_req_init(struct nl_req *r, uint16_t type, uint16_t flags, int ifindex)
{
	struct ifinfomsg *ifi;

	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	ifi = NLMSG_DATA(&r->h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
}

static struct ifinfomsg *nl_req_ifi(struct nl_req *r)
{
	return NLMSG_DATA(&r->h);
}

/* Append attribute 'type' with 'len' bytes of 'data'; returns it (NULL on overflow). */
static struct rtattr *nl_put(struct nl_req *r, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h.nlmsg_len);
	struct rtattr *a;

	if (at + RTA_SPACE(len) > sizeof(r->buf)) {
		r->overflow = true;
		return NULL;
	}
	a = (struct rtattr *)(r->buf + at);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len > 0)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = (uint32_t)(at + RTA_ALIGN(a->rta_len));
	return a;
}

static void nl_put_str(struct nl_req *r, uint16_t type, const char *s)
{
	nl_put(r, type, s, strlen(s) + 1);
}

static void nl_put_u32(struct nl_req *r, uint16_t type, uint32_t v)
{
	nl_put(r, type, &v, sizeof(v));
}

/* Raw bytes inside the current attribute (the peer's ifinfomsg of a veth). */
static void nl_put_raw(struct nl_req *r, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h.nlmsg_len);

	if (at + NLMSG_ALIGN(len) > sizeof(r->buf)) {
		r->overflow = true;
		return;
	}
	memcpy(r->buf + at, data, len);
	r->h.nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(len));
}

static struct rtattr *nl_nest_begin(struct nl_req *r, uint16_t type)
{
	return nl_put(r, type, NULL, 0);
}

static void nl_nest_end(struct nl_req *r, struct rtattr *nest)
{
	if (nest != NULL)
		nest->rta_len = (unsigned short)((char *)r->buf + r->h.nlmsg_len - (char *)nest);
}

static int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_MS / 1000,
			      .tv_usec = (NL_TIMEOUT_MS % 1000) * 1000 };
	int one = 1;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	/* Short acks (no echoed request) with the kernel's own reason text, when it has one. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* The extended ack's message (NLMSGERR_ATTR_MSG), or "" when the kernel gave none. */
static const char *nl_ack_msg(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = NLMSG_LENGTH(sizeof(*e));
	const struct rtattr *a;
	int len;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || h->nlmsg_len <= off)
		return "";
	a = (const struct rtattr *)((const char *)h + NLMSG_ALIGN(off));
	len = (int)(h->nlmsg_len - NLMSG_ALIGN(off));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(a) > 0)
			return RTA_DATA(a);
	return "";
}

/* Wait for the ack of request 'seq'. Returns 0 or the kernel's negative errno, with its
 * extended-ack text (if any) copied into 'why'. */
static int nl_wait_ack(int fd, uint32_t seq, char *why, size_t whysz)
{
	char buf[NL_BUF_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (int len = (int)n; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			snprintf(why, whysz, "%s", nl_ack_msg(h));
			return e->error;
		}
	}
}

/* Send request 'r' and wait for its ack. 'what' and 'name' describe it in 'err'. */
static int nl_talk(struct nl_req *r, const char *what, const char *name, char *err, size_t errsz)
{
	static uint32_t next_seq;
	char why[256] = "";
	int fd, ret;

	if (r->overflow)
		return netdev_fail(-EMSGSIZE, err, errsz, "%s %s: netlink request too large", what, name);
	fd = nl_open();
	if (fd < 0)
		return netdev_fail(fd, err, errsz, "%s %s: netlink socket: %s", what, name,
				   strerror(-fd));
	r->h.nlmsg_seq = __atomic_add_fetch(&next_seq, 1, __ATOMIC_RELAXED);
	if (send(fd, r->buf, r->h.nlmsg_len, 0) < 0)
		ret = -errno;
	else
		ret = nl_wait_ack(fd, r->h.nlmsg_seq, why, sizeof(why));
	close(fd);
	if (ret < 0)
		netdev_fail(ret, err, errsz, "%s %s: %s%s%s", what, name, strerror(-ret),
			    why[0] ? ": " : "", why);
	return ret;
}

/* The index of 'name', or -ENODEV with a reason. */
static int netdev_index(const char *name, const char *what, char *err, size_t errsz)
{
	unsigned idx;
	int ret = netdev_check_name(name, err, errsz);

	if (ret < 0)
		return ret;
	idx = if_nametoindex(name);
	if (idx == 0)
		return netdev_fail(-ENODEV, err, errsz, "%s %s: no such interface", what, name);
	return (int)idx;
}

int netdev_veth_create(const char *name, const char *peer, unsigned mtu, char *err, size_t errsz)
{
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *linkinfo, *data, *peer_attr;
	struct nl_req r;
	int ret = netdev_check_name(name, err, errsz);

	if (ret == 0)
		ret = netdev_check_name(peer, err, errsz);
	if (ret < 0)
		return ret;
	nl_req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_put_str(&r, IFLA_IFNAME, name);
	if (mtu > 0)
		nl_put_u32(&r, IFLA_MTU, mtu);
	linkinfo = nl_nest_begin(&r, IFLA_LINKINFO);
	nl_put_str(&r, IFLA_INFO_KIND, "veth");
	data = nl_nest_begin(&r, IFLA_INFO_DATA);
	peer_attr = nl_nest_begin(&r, VETH_INFO_PEER);
	nl_put_raw(&r, &peer_ifi, sizeof(peer_ifi));
	nl_put_str(&r, IFLA_IFNAME, peer);
	if (mtu > 0)
		nl_put_u32(&r, IFLA_MTU, mtu);
	nl_nest_end(&r, peer_attr);
	nl_nest_end(&r, data);
	nl_nest_end(&r, linkinfo);
	return nl_talk(&r, "create veth", name, err, errsz);
}

int netdev_delete(const char *name, char *err, size_t errsz)
{
	struct nl_req r;
	int ret = netdev_check_name(name, err, errsz);
	unsigned idx;

	if (ret < 0)
		return ret;
	idx = if_nametoindex(name);
	if (idx == 0)
		return 0;
	nl_req_init(&r, RTM_DELLINK, 0, (int)idx);
	ret = nl_talk(&r, "delete", name, err, errsz);
	return ret == -ENODEV ? 0 : ret;	/* gone in between (e.g. its peer was deleted) */
}

bool netdev_exists(const char *name)
{
	return netdev_name_ok(name) && if_nametoindex(name) != 0;
}

/* Set or clear interface flag 'flag' through RTM_NEWLINK. */
static int netdev_set_flag(const char *name, unsigned flag, bool on, const char *what, char *err,
			   size_t errsz)
{
	int idx = netdev_index(name, what, err, errsz);
	struct nl_req r;

	if (idx < 0)
		return idx;
	nl_req_init(&r, RTM_NEWLINK, 0, idx);
	nl_req_ifi(&r)->ifi_change = flag;
	nl_req_ifi(&r)->ifi_flags = on ? flag : 0;
	return nl_talk(&r, what, name, err, errsz);
}

int netdev_set_up(const char *name, bool up, char *err, size_t errsz)
{
	return netdev_set_flag(name, IFF_UP, up, up ? "set up" : "set down", err, errsz);
}

int netdev_set_promisc(const char *name, bool on, char *err, size_t errsz)
{
	return netdev_set_flag(name, IFF_PROMISC, on, "set promisc", err, errsz);
}

int netdev_set_mtu(const char *name, unsigned mtu, char *err, size_t errsz)
{
	int idx = netdev_index(name, "set mtu", err, errsz);
	struct nl_req r;

	if (idx < 0)
		return idx;
	nl_req_init(&r, RTM_NEWLINK, 0, idx);
	nl_put_u32(&r, IFLA_MTU, mtu);
	return nl_talk(&r, "set mtu", name, err, errsz);
}

/* ---- ioctls: ethtool features, MAC, flags ---- */

/* One SIOC* ioctl on 'name' with 'ifr' (its name filled here). */
static int netdev_ioctl(const char *name, unsigned long req, struct ifreq *ifr, const char *what,
			char *err, size_t errsz)
{
	int ret = netdev_check_name(name, err, errsz);
	int fd;

	if (ret < 0)
		return ret;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return netdev_fail(-errno, err, errsz, "%s %s: socket: %s", what, name,
				   strerror(errno));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	ret = ioctl(fd, req, ifr) < 0 ? -errno : 0;
	close(fd);
	if (ret < 0)
		netdev_fail(ret, err, errsz, "%s %s: %s", what, name, strerror(-ret));
	return ret;
}

/* ETHTOOL_G* / ETHTOOL_S* of one boolean feature. */
static int netdev_ethtool(const char *name, uint32_t cmd, uint32_t *value, const char *what,
			  char *err, size_t errsz)
{
	struct ethtool_value ev = { .cmd = cmd, .data = *value };
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = (char *)&ev;
	ret = netdev_ioctl(name, SIOCETHTOOL, &ifr, what, err, errsz);
	if (ret == 0)
		*value = ev.data;
	return ret;
}

int netdev_offloads_off(const char *name, char *err, size_t errsz)
{
	static const struct { uint32_t cmd; const char *what; } feats[] = {
		{ ETHTOOL_STSO, "tso off" },
		{ ETHTOOL_SGSO, "gso off" },
		{ ETHTOOL_SGRO, "gro off" },
	};

	for (unsigned i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		uint32_t off = 0;
		int ret = netdev_ethtool(name, feats[i].cmd, &off, feats[i].what, err, errsz);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int netdev_offloads_get(const char *name, bool *tso, bool *gso, bool *gro, char *err,
			size_t errsz)
{
	uint32_t v[3] = { 0, 0, 0 };
	int ret = netdev_ethtool(name, ETHTOOL_GTSO, &v[0], "get tso", err, errsz);

	if (ret == 0)
		ret = netdev_ethtool(name, ETHTOOL_GGSO, &v[1], "get gso", err, errsz);
	if (ret == 0)
		ret = netdev_ethtool(name, ETHTOOL_GGRO, &v[2], "get gro", err, errsz);
	if (ret < 0)
		return ret;
	*tso = v[0] != 0;
	*gso = v[1] != 0;
	*gro = v[2] != 0;
	return 0;
}

int netdev_get_mac(const char *name, uint8_t mac[6], char *err, size_t errsz)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = netdev_ioctl(name, SIOCGIFHWADDR, &ifr, "get mac", err, errsz);
	if (ret == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return ret;
}

int netdev_get_state(const char *name, bool *up, bool *lower_up, char *err, size_t errsz)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = netdev_ioctl(name, SIOCGIFFLAGS, &ifr, "get flags", err, errsz);
	if (ret < 0)
		return ret;
	*up = (ifr.ifr_flags & IFF_UP) != 0;
	*lower_up = (ifr.ifr_flags & IFF_RUNNING) != 0;
	return 0;
}

int netdev_ipv6_off(const char *name, char *err, size_t errsz)
{
	char path[96];
	int ret = netdev_check_name(name, err, errsz);
	int fd;

	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && access("/proc/sys/net/ipv6", F_OK) != 0)
		return 0;	/* no IPv6 in this kernel */
	if (fd < 0)
		return netdev_fail(-errno, err, errsz, "ipv6 off %s: %s: %s", name, path,
				   strerror(errno));
	ret = write(fd, "1", 1) == 1 ? 0 : -errno;
	close(fd);
	if (ret < 0)
		netdev_fail(ret, err, errsz, "ipv6 off %s: %s", name, strerror(-ret));
	return ret;
}

int netdev_port_prepare(const char *name, char *err, size_t errsz)
{
	int ret = netdev_ipv6_off(name, err, errsz);

	if (ret == 0)
		ret = netdev_offloads_off(name, err, errsz);
	if (ret == 0)
		ret = netdev_set_promisc(name, true, err, errsz);
	if (ret == 0)
		ret = netdev_set_up(name, true, err, errsz);
	return ret;
}

/* ---- running a program ---- */

/* A spawned program with its stdout and stderr on pipes. */
struct run {
	pid_t pid;
	int fds[2];		/* read ends: stdout, stderr; -1 once at EOF */
	char *bufs[2];
	size_t sizes[2], lens[2];
};

static int run_spawn(struct run *r, const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	sigset_t none, all;
	int ret;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		ret = -errno;
		goto err;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	ret = -posix_spawnp(&r->pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
err:
	for (int i = 0; i < 2; i++) {
		if (i == 1 || ret < 0) {
			if (out[i] >= 0)
				close(out[i]);
			if (errp[i] >= 0)
				close(errp[i]);
		}
	}
	r->fds[0] = ret < 0 ? -1 : out[0];
	r->fds[1] = ret < 0 ? -1 : errp[0];
	return ret;
}

/* Read what is available on pipe 'i'; close it at EOF. */
static void run_read(struct run *r, int i)
{
	char scratch[512];
	size_t room = r->sizes[i] > r->lens[i] + 1 ? r->sizes[i] - r->lens[i] - 1 : 0;
	char *dst = room > 0 ? r->bufs[i] + r->lens[i] : scratch;
	ssize_t n = read(r->fds[i], dst, room > 0 ? room : sizeof(scratch));

	if (n > 0 && room > 0) {
		r->lens[i] += (size_t)n;
		r->bufs[i][r->lens[i]] = '\0';
	}
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		close(r->fds[i]);
		r->fds[i] = -1;
	}
}

/* Collect both pipes until EOF on both or 'deadline_ms'. Returns 0 or -ETIMEDOUT. */
static int run_collect(struct run *r, uint64_t deadline_ms)
{
	while (r->fds[0] >= 0 || r->fds[1] >= 0) {
		struct pollfd pfds[2] = { { .fd = r->fds[0], .events = POLLIN },
					  { .fd = r->fds[1], .events = POLLIN } };
		uint64_t now = netdev_mono_ms();

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		if (poll(pfds, 2, (int)(deadline_ms - now)) < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2; i++)
			if (pfds[i].fd >= 0 && pfds[i].revents != 0)
				run_read(r, i);
	}
	return 0;
}

/* Reap the program; kill it first if it is past 'deadline_ms'. Returns its wait status. */
static int run_reap(struct run *r, uint64_t deadline_ms)
{
	int status = 0;

	for (;;) {
		pid_t p = waitpid(r->pid, &status, WNOHANG);

		if (p == r->pid || (p < 0 && errno != EINTR))
			return p == r->pid ? status : -1;
		if (netdev_mono_ms() >= deadline_ms) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
}

/* First line of 'text' (without the newline) into 'dst'. */
static void first_line(char *dst, size_t size, const char *text)
{
	size_t len = strcspn(text, "\n");

	snprintf(dst, size, "%.*s", (int)len, text);
}

int netdev_run(const char *const *argv, unsigned timeout_ms, char *out, size_t outsize,
	       char *err, size_t errsz)
{
	char errbuf[RUN_ERR_SIZE] = "", line[256];
	struct run r = { .bufs = { out, errbuf }, .sizes = { out != NULL ? outsize : 0,
							      sizeof(errbuf) } };
	uint64_t deadline = netdev_mono_ms() + timeout_ms;
	int ret, status;

	if (out != NULL && outsize > 0)
		out[0] = '\0';
	ret = run_spawn(&r, argv);
	if (ret < 0)
		return netdev_fail(ret, err, errsz, "%s: %s", argv[0], strerror(-ret));
	ret = run_collect(&r, deadline);
	for (int i = 0; i < 2; i++)
		if (r.fds[i] >= 0)
			close(r.fds[i]);
	status = run_reap(&r, ret < 0 ? 0 : deadline);
	if (ret < 0 || status < 0)
		return netdev_fail(-ETIMEDOUT, err, errsz, "%s: no answer within %u ms", argv[0],
				   timeout_ms);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	first_line(line, sizeof(line), errbuf);
	if (WIFSIGNALED(status))
		return netdev_fail(-EIO, err, errsz, "%s: killed by signal %d", argv[0],
				   WTERMSIG(status));
	if (WEXITSTATUS(status) == 127 && line[0] == '\0')
		return netdev_fail(-ENOENT, err, errsz, "%s: could not be run", argv[0]);
	return netdev_fail(-EIO, err, errsz, "%s: exit status %d%s%s", argv[0],
			   WEXITSTATUS(status), line[0] ? ": " : "", line);
}

/* ---- OVS bridge ports ---- */

/* The start of an ovs-vsctl command line: program, --db, --timeout (seconds). Returns the
 * number of arguments written to 'argv'; 'tmo' and 'db' hold their text. */
static int ovs_argv_head(const struct netdev_ovs *ovs, const char **argv, char *db, size_t dbsz,
			 char *tmo, size_t tmosz)
{
	unsigned ms = ovs->timeout_ms > 0 ? ovs->timeout_ms : OVS_DEFAULT_TIMEOUT_MS;
	int n = 0;

	argv[n++] = ovs->vsctl != NULL && ovs->vsctl[0] ? ovs->vsctl : "ovs-vsctl";
	if (ovs->db != NULL && ovs->db[0]) {
		snprintf(db, dbsz, "--db=%s", ovs->db);
		argv[n++] = db;
	}
	snprintf(tmo, tmosz, "--timeout=%u", (ms + 999) / 1000);
	argv[n++] = tmo;
	return n;
}

static unsigned ovs_timeout(const struct netdev_ovs *ovs)
{
	return ovs->timeout_ms > 0 ? ovs->timeout_ms : OVS_DEFAULT_TIMEOUT_MS;
}

/* Run ovs-vsctl with 'n_args' arguments after its head. */
static int ovs_run(const struct netdev_ovs *ovs, const char *const *args, int n_args, char *out,
		   size_t outsize, char *err, size_t errsz)
{
	const char *argv[8 + 8 * OVS_MAX_PORTS];
	char db[300], tmo[32];
	int n = ovs_argv_head(ovs, argv, db, sizeof(db), tmo, sizeof(tmo));

	if (n + n_args + 1 > (int)(sizeof(argv) / sizeof(argv[0])))
		return netdev_fail(-E2BIG, err, errsz, "ovs-vsctl: too many arguments");
	memcpy(&argv[n], args, (size_t)n_args * sizeof(*args));
	argv[n + n_args] = NULL;
	return netdev_run(argv, ovs_timeout(ovs), out, outsize, err, errsz);
}

/* The interfaces' current ofport column, one per line: a number, "[]" or "-1". */
static int ovs_get_ofports(const struct netdev_ovs *ovs, const char *const *ifnames, unsigned n,
			   long *ofports, char *err, size_t errsz)
{
	const char *args[5 * OVS_MAX_PORTS] = { NULL };
	char out[512];
	char *p = out;
	int k = 0, ret;

	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			args[k++] = "--";
		args[k++] = "get", args[k++] = "Interface", args[k++] = ifnames[i];
		args[k++] = "ofport";
	}
	ret = ovs_run(ovs, args, k, out, sizeof(out), err, errsz);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		char *end;

		ofports[i] = *p == '[' ? 0 : strtol(p, &end, 10);
		p = strchr(p, '\n');
		if (p == NULL && i + 1 < n)
			return netdev_fail(-EPROTO, err, errsz, "ovs-vsctl get ofport: short output");
		p = p != NULL ? p + 1 : out + strlen(out);
	}
	return 0;
}

/* OVS's error column of 'ifname', into 'buf'. */
static void ovs_if_error(const struct netdev_ovs *ovs, const char *ifname, char *buf, size_t size)
{
	const char *args[] = { "get", "Interface", ifname, "error" };
	char out[256];

	char *text = out;
	size_t len;

	if (ovs_run(ovs, args, 4, out, sizeof(out), NULL, 0) < 0)
		out[0] = '\0';
	len = strcspn(out, "\n");
	if (len >= 2 && out[0] == '"' && out[len - 1] == '"') {	/* an OVSDB string */
		text++;
		len -= 2;
	}
	snprintf(buf, size, "%.*s", (int)len, text);
}

int netdev_ovs_ofport(const struct netdev_ovs *ovs, const char *ifname, uint32_t *ofport,
		      char *err, size_t errsz)
{
	long v;
	int ret = ovs_get_ofports(ovs, &ifname, 1, &v, err, errsz);

	if (ret == -EIO && err != NULL && strstr(err, "no row") != NULL)
		return -ENOENT;
	if (ret < 0)
		return ret;
	*ofport = v > 0 ? (uint32_t)v : 0;
	return 0;
}

/* Poll until every interface has an ofport > 0, one is -1 (OVS failed to open it) or the
 * timeout passes. */
static int ovs_wait_ofports(const struct netdev_ovs *ovs, const char *const *ifnames, unsigned n,
			    uint32_t *ofports, char *err, size_t errsz)
{
	uint64_t deadline = netdev_mono_ms() + ovs_timeout(ovs);
	long v[OVS_MAX_PORTS];
	char why[200];

	for (;;) {
		unsigned n_ok = 0;
		int ret = ovs_get_ofports(ovs, ifnames, n, v, err, errsz);

		if (ret < 0)
			return ret;
		for (unsigned i = 0; i < n; i++) {
			if (v[i] < 0) {
				ovs_if_error(ovs, ifnames[i], why, sizeof(why));
				return netdev_fail(-EIO, err, errsz, "ovs port %s: %s", ifnames[i],
						   why[0] ? why : "OVS could not open it");
			}
			n_ok += v[i] > 0;
		}
		if (n_ok == n)
			break;
		if (netdev_mono_ms() >= deadline)
			return netdev_fail(-ETIMEDOUT, err, errsz,
					   "ovs port %s: no OpenFlow port number within %u ms",
					   ifnames[0], ovs_timeout(ovs));
		usleep(OFPORT_POLL_MS * 1000);
	}
	for (unsigned i = 0; i < n; i++)
		ofports[i] = (uint32_t)v[i];
	return 0;
}

int netdev_ovs_add_ports(const struct netdev_ovs *ovs, const char *bridge,
			 const char *const *ifnames, unsigned n, uint32_t *ofports, char *err,
			 size_t errsz)
{
	const char *args[6 * OVS_MAX_PORTS] = { NULL };
	int k = 0, ret;

	if (n == 0 || n > OVS_MAX_PORTS)
		return netdev_fail(-EINVAL, err, errsz, "ovs add-port: %u ports (1-%d)", n,
				   OVS_MAX_PORTS);
	for (unsigned i = 0; i < n; i++) {
		args[k++] = "--";
		args[k++] = "--may-exist", args[k++] = "add-port";
		args[k++] = bridge, args[k++] = ifnames[i];
	}
	ret = ovs_run(ovs, args, k, NULL, 0, err, errsz);
	if (ret < 0)
		return ret;
	return ovs_wait_ofports(ovs, ifnames, n, ofports, err, errsz);
}

int netdev_ovs_del_ports(const struct netdev_ovs *ovs, const char *bridge,
			 const char *const *ifnames, unsigned n, char *err, size_t errsz)
{
	const char *args[6 * OVS_MAX_PORTS] = { NULL };
	int k = 0;

	if (n > OVS_MAX_PORTS)
		return netdev_fail(-EINVAL, err, errsz, "ovs del-port: %u ports (at most %d)", n,
				   OVS_MAX_PORTS);
	for (unsigned i = 0; i < n; i++) {
		args[k++] = "--";
		args[k++] = "--if-exists", args[k++] = "del-port";
		args[k++] = bridge, args[k++] = ifnames[i];
	}
	return n == 0 ? 0 : ovs_run(ovs, args, k, NULL, 0, err, errsz);
}
