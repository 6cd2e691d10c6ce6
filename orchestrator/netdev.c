/* Host interfaces of NF instances: names, veth pairs and link settings over rtnetlink. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "orchestrator/netdev.h"
#include "orchestrator/netdev_int.h"

int netdev_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
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

int netdev_check_name(const char *name, char *err, size_t errsz)
{
	if (netdev_name_ok(name))
		return 0;
	return netdev_fail(-EINVAL, err, errsz, "'%s': not a valid interface name (1-15 characters)",
			   name != NULL ? name : "(null)");
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
	struct netdev_nl_req r;
	int ret = netdev_check_name(name, err, errsz);

	if (ret == 0)
		ret = netdev_check_name(peer, err, errsz);
	if (ret < 0)
		return ret;
	netdev_nl_req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	netdev_nl_put_str(&r, IFLA_IFNAME, name);
	if (mtu > 0)
		netdev_nl_put_u32(&r, IFLA_MTU, mtu);
	linkinfo = netdev_nl_nest_begin(&r, IFLA_LINKINFO);
	netdev_nl_put_str(&r, IFLA_INFO_KIND, "veth");
	data = netdev_nl_nest_begin(&r, IFLA_INFO_DATA);
	peer_attr = netdev_nl_nest_begin(&r, VETH_INFO_PEER);
	netdev_nl_put_raw(&r, &peer_ifi, sizeof(peer_ifi));
	netdev_nl_put_str(&r, IFLA_IFNAME, peer);
	if (mtu > 0)
		netdev_nl_put_u32(&r, IFLA_MTU, mtu);
	netdev_nl_nest_end(&r, peer_attr);
	netdev_nl_nest_end(&r, data);
	netdev_nl_nest_end(&r, linkinfo);
	return netdev_nl_talk(&r, "create veth", name, err, errsz);
}

int netdev_delete(const char *name, char *err, size_t errsz)
{
	struct netdev_nl_req r;
	int ret = netdev_check_name(name, err, errsz);
	unsigned idx;

	if (ret < 0)
		return ret;
	idx = if_nametoindex(name);
	if (idx == 0)
		return 0;
	netdev_nl_req_init(&r, RTM_DELLINK, 0, (int)idx);
	ret = netdev_nl_talk(&r, "delete", name, err, errsz);
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
	struct netdev_nl_req r;

	if (idx < 0)
		return idx;
	netdev_nl_req_init(&r, RTM_NEWLINK, 0, idx);
	netdev_nl_req_ifi(&r)->ifi_change = flag;
	netdev_nl_req_ifi(&r)->ifi_flags = on ? flag : 0;
	return netdev_nl_talk(&r, what, name, err, errsz);
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
	struct netdev_nl_req r;

	if (idx < 0)
		return idx;
	netdev_nl_req_init(&r, RTM_NEWLINK, 0, idx);
	netdev_nl_put_u32(&r, IFLA_MTU, mtu);
	return netdev_nl_talk(&r, "set mtu", name, err, errsz);
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
