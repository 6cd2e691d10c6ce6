/* Internals shared by the netdev files: netdev.c (veth and link operations over rtnetlink),
 * netdev_nl.c (building rtnetlink requests, sending them, waiting for acks), netdev_ethtool.c
 * (ioctls: offloads, MAC, flags) and netdev_ovs.c (ovs-vsctl ports, running a program).
 * Not for use outside orchestrator/netdev*.c. */
#ifndef ORCH_NETDEV_INT_H
#define ORCH_NETDEV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "orchestrator/netdev.h"

#define NL_BUF_SIZE 4096

/* Write a reason into the caller's buffer and return 'ret' (a negative errno). */
int netdev_fail(int ret, char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* 0 when 'name' is a valid interface name, else -EINVAL with a reason in 'err'. */
int netdev_check_name(const char *name, char *err, size_t errsz);

/* ---- rtnetlink requests (netdev_nl.c) ---- */

/* A request under construction: one netlink message in 'buf'. */
struct netdev_nl_req {
	union {
		struct nlmsghdr h;
		char buf[NL_BUF_SIZE];
	};
	bool overflow;
};

void netdev_nl_req_init(struct netdev_nl_req *r, uint16_t type, uint16_t flags, int ifindex);
struct ifinfomsg *netdev_nl_req_ifi(struct netdev_nl_req *r);
void netdev_nl_put_str(struct netdev_nl_req *r, uint16_t type, const char *s);
void netdev_nl_put_u32(struct netdev_nl_req *r, uint16_t type, uint32_t v);
/* Raw bytes inside the current attribute (the peer's ifinfomsg of a veth). */
void netdev_nl_put_raw(struct netdev_nl_req *r, const void *data, size_t len);
struct rtattr *netdev_nl_nest_begin(struct netdev_nl_req *r, uint16_t type);
void netdev_nl_nest_end(struct netdev_nl_req *r, struct rtattr *nest);
/* Send request 'r' and wait for its ack. 'what' and 'name' describe it in 'err'. */
int netdev_nl_talk(struct netdev_nl_req *r, const char *what, const char *name, char *err,
		   size_t errsz);

#endif
