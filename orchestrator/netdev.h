/* Host interfaces of NF instances: veth pairs over rtnetlink, their settings, their OVS ports. */
#ifndef ORCH_NETDEV_H
#define ORCH_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every function that can fail returns 0 or a negative errno and, on failure, writes one
 * line naming the interface and the reason into 'err' ('errsz' bytes; 'err' may be NULL
 * when 'errsz' is 0). Interface names are 1-15 characters (IFNAMSIZ - 1). */

/* True when a valid interface name: 1-15 characters, none of '/', ':' or whitespace. */
bool netdev_name_ok(const char *name);

/* Create the veth pair 'name' <-> 'peer' in this network namespace, both ends down.
 * 'mtu' 0 keeps the kernel default. -EEXIST when either name is taken. */
int netdev_veth_create(const char *name, const char *peer, unsigned mtu, char *err, size_t errsz);

/* Delete interface 'name' (for a veth, both ends go). Idempotent: an interface that does
 * not exist is not an error. */
int netdev_delete(const char *name, char *err, size_t errsz);

/* True when interface 'name' exists in this network namespace. */
bool netdev_exists(const char *name);

int netdev_set_up(const char *name, bool up, char *err, size_t errsz);
int netdev_set_promisc(const char *name, bool on, char *err, size_t errsz);
int netdev_set_mtu(const char *name, unsigned mtu, char *err, size_t errsz);

/* Turn TSO, GSO and GRO off (af_packet would otherwise see frames larger than the MTU).
 * Transmit checksum offload stays as it is: the NFs complete CHECKSUM_PARTIAL packets. */
int netdev_offloads_off(const char *name, char *err, size_t errsz);

/* Reads of the same three features, for checks: each is set to 1 when on. */
int netdev_offloads_get(const char *name, bool *tso, bool *gso, bool *gro, char *err,
			size_t errsz);

/* Disable IPv6 on 'name' (no router solicitations, MLD or DAD packets of the host's own on
 * an NF's wire). Not an error when the kernel has no IPv6. */
int netdev_ipv6_off(const char *name, char *err, size_t errsz);

/* Everything an end of an NF's veth needs, in this order: IPv6 off, offloads off,
 * promiscuous, up. */
int netdev_port_prepare(const char *name, char *err, size_t errsz);

int netdev_get_mac(const char *name, uint8_t mac[6], char *err, size_t errsz);

/* Flags of 'name': whether it is administratively up and whether the link is up. */
int netdev_get_state(const char *name, bool *up, bool *lower_up, char *err, size_t errsz);

/* The OVS side, through `ovs-vsctl` (fork/exec with an argv, never a shell). 'vsctl' is the
 * program (a path or a name looked up in $PATH; NULL means "ovs-vsctl"), 'db' its --db
 * argument ("unix:/run/x/db.sock"; NULL or "" means ovs-vsctl's default). Each call waits
 * at most 'timeout_ms' for ovs-vsctl (and ovs-vswitchd) to finish. */
struct netdev_ovs {
	const char *vsctl;
	const char *db;
	unsigned timeout_ms;
};

/* Attach 'n' interfaces to 'bridge' in one transaction (an interface already on it stays),
 * then wait until OVS has given each an OpenFlow port number and store them in 'ofports'.
 * -EIO with OVS's own error text (e.g. "could not open network device") when OVS could not
 * open one; -ETIMEDOUT when no number came within the timeout. */
int netdev_ovs_add_ports(const struct netdev_ovs *ovs, const char *bridge,
			 const char *const *ifnames, unsigned n, uint32_t *ofports, char *err,
			 size_t errsz);

/* The ports of 'bridge', one name per line, into 'out' (truncated to 'outsize'). */
int netdev_ovs_list_ports(const struct netdev_ovs *ovs, const char *bridge, char *out,
			  size_t outsize, char *err, size_t errsz);

/* Remove 'n' interfaces from 'bridge' in one transaction; ports that are not there are
 * not an error. */
int netdev_ovs_del_ports(const struct netdev_ovs *ovs, const char *bridge,
			 const char *const *ifnames, unsigned n, char *err, size_t errsz);

/* The OpenFlow port number of 'ifname': 0 when OVS has not assigned one (yet), -ENOENT
 * when no such Interface record exists. */
int netdev_ovs_ofport(const struct netdev_ovs *ovs, const char *ifname, uint32_t *ofport,
		      char *err, size_t errsz);

/* Run 'argv' (argv[0] looked up in $PATH), its stdin /dev/null, its stdout into 'out'
 * ('outsize' bytes, NUL-terminated, truncated; 'out' may be NULL), its stderr into 'err'
 * on failure. Waits at most 'timeout_ms', then kills it. Returns 0 when it exited 0, -EIO
 * (exit status > 0, with its stderr's first line in 'err'), -ETIMEDOUT, or -errno when it
 * could not be started (-ENOENT: no such program). */
int netdev_run(const char *const *argv, unsigned timeout_ms, char *out, size_t outsize,
	       char *err, size_t errsz);

#endif
