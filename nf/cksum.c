/* Internet checksums: full computation and incremental update (RFC 1071, RFC 1624). */
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>

#include "nf/cksum.h"

/* Internally sums are kept in "memory order": each 16-bit word is loaded as the CPU
 * sees it. The ones' complement sum is byte-order independent (RFC 1071 2.B), so a
 * folded memory-order sum is exactly the value "as stored" in a packet, and values in
 * network byte order (ports, addresses, stored checksums) can be added directly. */

#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define ICMP_CSUM_OFF 2
#define IPV4_CSUM_OFF 10

/* Fold a 64-bit accumulator down to 32 bits with end-around carry. */
static inline uint32_t fold64(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	return (uint32_t)sum;
}

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Memory-order sum of the 'size' bytes at 'p'; a trailing odd byte is padded with zero
 * as the high-order (first) byte of a word. Adding 32-bit words is the same as adding
 * their two halves, because 2^16 == 1 modulo 0xffff. */
static uint32_t sum_mem(const uint8_t *p, size_t size)
{
	uint64_t sum = 0;

	for (; size >= 16; p += 16, size -= 16)
		sum += (uint64_t)load32(p) + load32(p + 4) + load32(p + 8) + load32(p + 12);
	for (; size >= 4; p += 4, size -= 4)
		sum += load32(p);
	if (size >= 2) {
		sum += load16(p);
		p += 2;
		size -= 2;
	}
	if (size) {
		const uint8_t last[2] = { p[0], 0 };

		sum += load16(last);
	}
	return fold64(sum);
}

uint16_t cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t cksum_add(uint32_t sum, const void *buf, size_t size)
{
	uint16_t part = rte_be_to_cpu_16(cksum_fold(sum_mem(buf, size)));

	return fold64((uint64_t)sum + part);
}

/* Memory-order sum of the 'size' bytes at 'p' with the 16-bit field at the even offset
 * 'skip' taken as zero. Bytes of the field beyond 'size' are not read. */
static uint32_t sum_skip(const uint8_t *p, size_t size, size_t skip)
{
	if (size <= skip)
		return sum_mem(p, size);
	if (size <= skip + 2)
		return sum_mem(p, skip);
	return fold64((uint64_t)sum_mem(p, skip) + sum_mem(p + skip + 2, size - skip - 2));
}

uint16_t cksum_ipv4_header(const void *ip)
{
	const uint8_t *p = ip;

	return (uint16_t)~cksum_fold(sum_skip(p, (size_t)(p[0] & 0x0f) * 4, IPV4_CSUM_OFF));
}

/* Memory-order pseudo-header sum: source and destination address, protocol, length. */
static uint32_t sum_pseudo(const uint8_t *ip, uint16_t l4_len, uint8_t proto)
{
	uint64_t sum = (uint64_t)load32(ip + 12) + load32(ip + 16);

	sum += rte_cpu_to_be_16((uint16_t)proto) + rte_cpu_to_be_16(l4_len);
	return fold64(sum);
}

uint16_t cksum_pseudo(const void *ip, uint16_t l4_len, uint8_t proto)
{
	return cksum_fold(sum_pseudo(ip, l4_len, proto));
}

uint16_t cksum_l4(const void *ip, const void *l4, uint16_t l4_len, uint8_t proto)
{
	size_t off = proto == IPPROTO_UDP ? UDP_CSUM_OFF : TCP_CSUM_OFF;
	uint64_t sum = (uint64_t)sum_pseudo(ip, l4_len, proto) + sum_skip(l4, l4_len, off);
	uint16_t csum = (uint16_t)~cksum_fold(fold64(sum));

	if (proto == IPPROTO_UDP && csum == 0)
		return 0xffff;
	return csum;
}

uint16_t cksum_icmp(const void *icmp, uint16_t len)
{
	return (uint16_t)~cksum_fold(sum_skip(icmp, len, ICMP_CSUM_OFF));
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). With a 32-bit accumulator and end-around
 * carry folding this is exact, including the -0/+0 (0xffff/0x0000) cases eqn. 2 gets
 * wrong. The caller keeps protocol rules: a UDP checksum of 0 means "none" and must
 * not be updated, and a UDP result of 0 must be stored as 0xffff. */
uint16_t cksum_update16(uint16_t csum, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint32_t)(uint16_t)~csum + (uint16_t)~old + new;

	return (uint16_t)~cksum_fold(sum);
}

uint16_t cksum_update32(uint16_t csum, uint32_t old, uint32_t new)
{
	uint32_t sum = (uint32_t)(uint16_t)~csum;

	sum += (uint16_t)~(old >> 16) + (uint16_t)~(old & 0xffff);
	sum += (new >> 16) + (new & 0xffff);
	return (uint16_t)~cksum_fold(sum);
}
