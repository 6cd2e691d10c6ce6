/* rtnetlink plumbing of the netdev files: building a request, sending it, waiting for its ack. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "orchestrator/netdev_int.h"

#define NL_TIMEOUT_MS 2000

void netdev_nl_req_init(struct netdev_nl_req *r, uint16_t type, uint16_t flags, int ifindex)
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

struct ifinfomsg *netdev_nl_req_ifi(struct netdev_nl_req *r)
{
	return NLMSG_DATA(&r->h);
}

/* Append attribute 'type' with 'len' bytes of 'data'; returns it (NULL on overflow). */
static struct rtattr *nl_put(struct netdev_nl_req *r, uint16_t type, const void *data, size_t len)
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

void netdev_nl_put_str(struct netdev_nl_req *r, uint16_t type, const char *s)
{
	nl_put(r, type, s, strlen(s) + 1);
}

void netdev_nl_put_u32(struct netdev_nl_req *r, uint16_t type, uint32_t v)
{
	nl_put(r, type, &v, sizeof(v));
}

/* Raw bytes inside the current attribute (the peer's ifinfomsg of a veth). */
void netdev_nl_put_raw(struct netdev_nl_req *r, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(r->h.nlmsg_len);

	if (at + NLMSG_ALIGN(len) > sizeof(r->buf)) {
		r->overflow = true;
		return;
	}
	memcpy(r->buf + at, data, len);
	r->h.nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(len));
}

struct rtattr *netdev_nl_nest_begin(struct netdev_nl_req *r, uint16_t type)
{
	return nl_put(r, type, NULL, 0);
}

void netdev_nl_nest_end(struct netdev_nl_req *r, struct rtattr *nest)
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
int netdev_nl_talk(struct netdev_nl_req *r, const char *what, const char *name, char *err,
		   size_t errsz)
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
