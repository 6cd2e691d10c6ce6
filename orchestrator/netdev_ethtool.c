/* ioctls on host interfaces: ethtool offload features, the MAC address, the link flags. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "orchestrator/netdev.h"
#include "orchestrator/netdev_int.h"

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
