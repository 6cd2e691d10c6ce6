/* tcpprobe: many long-lived TCP connections that each send a small numbered message every
 * few ms and check its echo, measuring the longest silence per connection; and the echo
 * server they talk to. For failover tests and the demo.
 *
 *   tcpprobe serve PORT [--bind ADDR] [--max-conns N] [--duration-s S] [--out FILE]
 *   tcpprobe client ADDR:PORT [--conns N] [--interval-ms MS] [--duration-s S] [--out FILE]
 *                   [--status-ms MS] [--connect-timeout-ms MS] [--bind ADDR]
 *
 * The client opens N connections (bounded: at most 10000), then every connection sends a
 * 16-byte message "CCCCC SSSSSSSSS\n" (connection, sequence) every interval, staggered over
 * the interval, and checks that the echo brings back exactly the stream it sent. It runs
 * until the duration is over (bounded: at most a day) or SIGTERM/SIGINT, rewriting the JSON
 * report in --out (atomically) every --status-ms and at the end. SIGUSR1 writes the report
 * at once and starts a new phase: "phase_max_gap_ms" covers the time since then.
 *
 * Report: {"state", "elapsed_ms", "conns", "connected", "broken", "stalled" (waiting for an
 * echo for over 200 ms now), "resets", "errors", "max_gap_ms", "max_gap_conn", "phase_max_gap_ms", "phase", "echoes", "bytes_sent",
 * "bytes_received", "per_conn": [{"id", "local", "state", "max_gap_ms", "phase_max_gap_ms",
 * "echoes", "bytes_sent", "bytes_received", "resets", "errors", "error"}]}. A gap is the
 * time between two echoes (and, while a connection waits, since its last echo); a
 * connection is broken when it was reset, closed, failed to connect, timed out, or echoed
 * wrong bytes. Exit status: 0 when no connection broke, 1 otherwise, 2 on bad usage.
 *
 * The server echoes every byte back (at most --max-conns connections, 4096 by default) and
 * writes {"state", "accepted", "open", "closed", "resets", "bytes"} to --out. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_SIZE 16
#define MAX_CONNS 10000
#define MAX_DURATION_S 86400
#define SERVE_BUF 65536
#define EVENTS 256
#define STALLED_US 200000	/* a connection silent longer now is "stalled" */

static volatile sig_atomic_t stop_flag, mark_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_mark(int sig)
{
	(void)sig;
	mark_flag = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...)
{
	va_list ap;

	fputs("tcpprobe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: tcpprobe serve PORT [--bind ADDR] [--max-conns N] [--duration-s S] "
	      "[--out FILE]\n       tcpprobe client ADDR:PORT [--conns N] [--interval-ms MS] "
	      "[--duration-s S] [--out FILE]\n                       [--status-ms MS] "
	      "[--connect-timeout-ms MS] [--bind ADDR]\n", stderr);
	return 2;
}

static void signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_mark;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Write 'text' to 'path' atomically (a temporary file renamed over it). */
static void file_replace(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	FILE *f;

	if (path == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return;
	fwrite(text, 1, len, f);
	if (fclose(f) == 0)
		rename(tmp, path);
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int addr_parse(const char *host, unsigned port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* ---- options ---- */

struct opts {
	const char *target;	/* client: ADDR:PORT; serve: PORT */
	const char *bind;
	const char *out;
	unsigned long conns, interval_ms, duration_s, status_ms, connect_timeout_ms, max_conns;
};

/* Options after the mode and its positional argument. */
static int opts_parse(int argc, char **argv, struct opts *o)
{
	for (int i = 3; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long *num = NULL, min = 1, max = MAX_DURATION_S;

		if (v == NULL)
			return usage("%s: needs a value", k);
		if (strcmp(k, "--bind") == 0)
			o->bind = v;
		else if (strcmp(k, "--out") == 0)
			o->out = v;
		else if (strcmp(k, "--conns") == 0)
			num = &o->conns, max = MAX_CONNS;
		else if (strcmp(k, "--max-conns") == 0)
			num = &o->max_conns, max = MAX_CONNS;
		else if (strcmp(k, "--interval-ms") == 0)
			num = &o->interval_ms, max = 10000;
		else if (strcmp(k, "--duration-s") == 0)
			num = &o->duration_s;
		else if (strcmp(k, "--status-ms") == 0)
			num = &o->status_ms, min = 10, max = 60000;
		else if (strcmp(k, "--connect-timeout-ms") == 0)
			num = &o->connect_timeout_ms, min = 10, max = 600000;
		else
			return usage("%s: unknown option", k);
		if (num != NULL && parse_uint(v, min, max, num) < 0)
			return usage("%s: '%s' is not an integer in %lu-%lu", k, v, min, max);
		i++;
	}
	return 0;
}

/* ---- client ---- */

enum conn_state { C_CONNECTING, C_UP, C_BROKEN };
static const char *const conn_state_names[] = { "connecting", "up", "broken" };

struct conn {
	int fd;
	enum conn_state state;
	char local[32];
	char error[64];
	uint64_t offset_us;		/* its send slot within the interval */
	uint64_t n_written;		/* whole messages written */
	unsigned partial;		/* bytes of message n_written already written */
	uint64_t n_echoed;
	char rbuf[MSG_SIZE];
	unsigned rlen;
	uint64_t last_echo_us, max_gap_us, phase_gap_us;
	uint64_t bytes_sent, bytes_recv;
	unsigned resets, errors;
};

struct client {
	struct opts o;
	struct sockaddr_in dst;
	struct conn *c;
	int ep;
	uint64_t start_us, phase_start_us;
	unsigned phase;
};

static void msg_make(char *m, unsigned id, uint64_t seq)
{
	char buf[MSG_SIZE + 1];

	snprintf(buf, sizeof(buf), "%05u %09llu\n", id % 100000u,
		 (unsigned long long)(seq % 1000000000ull));
	memcpy(m, buf, MSG_SIZE);
}

static void conn_break(struct client *cl, struct conn *c, int err, const char *what)
{
	if (c->state == C_BROKEN)
		return;
	if (err == ECONNRESET || err == EPIPE)
		c->resets++;
	else
		c->errors++;
	snprintf(c->error, sizeof(c->error), "%s: %s", what, err ? strerror(err) : "closed by peer");
	c->state = C_BROKEN;
	epoll_ctl(cl->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static int conn_open(struct client *cl, unsigned i)
{
	struct conn *c = &cl->c[i];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = i };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cl->o.bind != NULL) {
		struct sockaddr_in b;

		if (addr_parse(cl->o.bind, 0, &b) < 0 || bind(c->fd, (void *)&b, sizeof(b)) < 0)
			return -EINVAL;
	}
	if (connect(c->fd, (void *)&cl->dst, sizeof(cl->dst)) < 0 && errno != EINPROGRESS)
		return -errno;
	c->state = C_CONNECTING;
	c->offset_us = (uint64_t)i * cl->o.interval_ms * 1000u / cl->o.conns;
	return epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

static void conn_connected(struct client *cl, struct conn *c)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int err = 0;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0) {
		conn_break(cl, c, err, "connect");
		return;
	}
	len = sizeof(sa);
	getsockname(c->fd, (void *)&sa, &len);
	snprintf(c->local, sizeof(c->local), "%s:%u", inet_ntoa(sa.sin_addr), ntohs(sa.sin_port));
	c->state = C_UP;
}

/* Write the messages due by 'now' ('due' in total) that fit in the socket. */
static void conn_send(struct client *cl, unsigned id, struct conn *c, uint64_t due)
{
	while (c->state == C_UP && c->n_written < due) {
		char m[MSG_SIZE];
		ssize_t n;

		msg_make(m, id, c->n_written);
		n = send(c->fd, m + c->partial, MSG_SIZE - c->partial, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_break(cl, c, errno, "send");
			return;
		}
		c->bytes_sent += (uint64_t)n;
		c->partial += (unsigned)n;
		if (c->partial == MSG_SIZE) {
			c->partial = 0;
			c->n_written++;
		}
	}
}

static void conn_echo(struct client *cl, unsigned id, struct conn *c, uint64_t now)
{
	uint64_t from;

	char want[MSG_SIZE];

	msg_make(want, id, c->n_echoed);
	if (memcmp(want, c->rbuf, MSG_SIZE) != 0) {
		conn_break(cl, c, 0, "wrong echo");
		snprintf(c->error, sizeof(c->error), "wrong echo of message %llu",
			 (unsigned long long)c->n_echoed);
		return;
	}
	c->n_echoed++;
	if (c->last_echo_us != 0) {
		uint64_t gap = now - c->last_echo_us;

		if (gap > c->max_gap_us)
			c->max_gap_us = gap;
		/* A phase counts the part of a silence that fell into it. */
		from = c->last_echo_us > cl->phase_start_us ? c->last_echo_us : cl->phase_start_us;
		if (now - from > c->phase_gap_us)
			c->phase_gap_us = now - from;
	}
	c->last_echo_us = now;
}

static void conn_recv(struct client *cl, unsigned id, struct conn *c)
{
	char buf[4096];

	while (c->state == C_UP) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		uint64_t now = now_us();

		if (n == 0) {
			conn_break(cl, c, 0, "recv");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_break(cl, c, errno, "recv");
			return;
		}
		c->bytes_recv += (uint64_t)n;
		for (ssize_t i = 0; i < n && c->state == C_UP; i++) {
			c->rbuf[c->rlen++] = buf[i];
			if (c->rlen == MSG_SIZE) {
				c->rlen = 0;
				conn_echo(cl, id, c, now);
			}
		}
	}
}

static void client_event(struct client *cl, const struct epoll_event *ev)
{
	unsigned id = ev->data.u32;
	struct conn *c = &cl->c[id];

	if (c->state == C_CONNECTING && (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		struct epoll_event in = { .events = EPOLLIN, .data.u32 = id };

		conn_connected(cl, c);
		if (c->state == C_UP)
			epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &in);
	}
	if (c->state == C_UP && (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		conn_recv(cl, id, c);
}

/* Messages connection 'c' should have sent by 'now'. */
static uint64_t conn_due(const struct client *cl, const struct conn *c, uint64_t now)
{
	uint64_t t = now - cl->start_us, iv = cl->o.interval_ms * 1000u;

	return t < c->offset_us ? 0 : (t - c->offset_us) / iv + 1;
}

/* The current silence of a waiting connection counts as a gap. */
static uint64_t gap_now(const struct conn *c, uint64_t since, uint64_t now)
{
	uint64_t from = c->last_echo_us > since ? c->last_echo_us : since;

	if (c->state != C_UP || c->last_echo_us == 0 || c->n_echoed >= c->n_written)
		return 0;
	return now > from ? now - from : 0;
}

static void report_conn(FILE *f, const struct client *cl, unsigned i, uint64_t now)
{
	const struct conn *c = &cl->c[i];
	uint64_t g = gap_now(c, 0, now), pg = gap_now(c, cl->phase_start_us, now);
	uint64_t max = c->max_gap_us > g ? c->max_gap_us : g;
	uint64_t pmax = c->phase_gap_us > pg ? c->phase_gap_us : pg;

	fprintf(f, "%s\n  {\"id\": %u, \"local\": \"%s\", \"state\": \"%s\", \"max_gap_ms\": %.1f, "
		"\"phase_max_gap_ms\": %.1f, \"echoes\": %llu, \"bytes_sent\": %llu, "
		"\"bytes_received\": %llu, \"resets\": %u, \"errors\": %u, \"error\": \"%s\"}",
		i ? "," : "", i, c->local, conn_state_names[c->state], max / 1000.0, pmax / 1000.0,
		(unsigned long long)c->n_echoed, (unsigned long long)c->bytes_sent,
		(unsigned long long)c->bytes_recv, c->resets, c->errors, c->error);
}

static void report_write(const struct client *cl, const char *state)
{
	uint64_t now = now_us(), max = 0, pmax = 0, echoes = 0, sent = 0, recvd = 0;
	unsigned connected = 0, broken = 0, resets = 0, errors = 0, max_conn = 0, stalled = 0;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		return;
	for (unsigned i = 0; i < cl->o.conns; i++) {
		const struct conn *c = &cl->c[i];
		uint64_t g = gap_now(c, 0, now), pg = gap_now(c, cl->phase_start_us, now);

		stalled += g > STALLED_US;
		g = c->max_gap_us > g ? c->max_gap_us : g;
		pg = c->phase_gap_us > pg ? c->phase_gap_us : pg;
		if (g > max)
			max = g, max_conn = i;
		if (pg > pmax)
			pmax = pg;
		connected += c->local[0] != '\0';
		broken += c->state == C_BROKEN;
		resets += c->resets;
		errors += c->errors;
		echoes += c->n_echoed;
		sent += c->bytes_sent;
		recvd += c->bytes_recv;
	}
	fprintf(f, "{\"state\": \"%s\", \"elapsed_ms\": %llu, \"conns\": %lu, \"connected\": %u, "
		"\"broken\": %u, \"stalled\": %u, \"resets\": %u, \"errors\": %u, \"max_gap_ms\": %.1f, "
		"\"max_gap_conn\": %u, \"phase\": %u, \"phase_max_gap_ms\": %.1f, \"echoes\": %llu, "
		"\"bytes_sent\": %llu, \"bytes_received\": %llu, \"per_conn\": [", state,
		(unsigned long long)((now - cl->start_us) / 1000), cl->o.conns, connected, broken,
		stalled, resets, errors, max / 1000.0, max_conn, cl->phase, pmax / 1000.0,
		(unsigned long long)echoes, (unsigned long long)sent, (unsigned long long)recvd);
	for (unsigned i = 0; i < cl->o.conns; i++)
		report_conn(f, cl, i, now);
	fprintf(f, "\n]}\n");
	if (fclose(f) == 0)
		file_replace(cl->o.out, text, size);
	free(text);
}

/* Connections still connecting after the timeout are broken. */
static void connect_timeouts(struct client *cl, uint64_t now)
{
	if (now - cl->start_us < cl->o.connect_timeout_ms * 1000u)
		return;
	for (unsigned i = 0; i < cl->o.conns; i++)
		if (cl->c[i].state == C_CONNECTING)
			conn_break(cl, &cl->c[i], ETIMEDOUT, "connect");
}

static void client_tick(struct client *cl, uint64_t now)
{
	connect_timeouts(cl, now);
	for (unsigned i = 0; i < cl->o.conns; i++)
		if (cl->c[i].state == C_UP)
			conn_send(cl, i, &cl->c[i], conn_due(cl, &cl->c[i], now));
}

/* A new phase: per-phase gaps restart. */
static void client_mark(struct client *cl)
{
	report_write(cl, "running");
	cl->phase++;
	cl->phase_start_us = now_us();
	for (unsigned i = 0; i < cl->o.conns; i++)
		cl->c[i].phase_gap_us = 0;
}

static int client_loop(struct client *cl)
{
	uint64_t end = cl->start_us + cl->o.duration_s * 1000000u, next_status = 0;
	struct epoll_event evs[EVENTS];
	unsigned broken = 0;

	while (!stop_flag && now_us() < end) {
		int n = epoll_wait(cl->ep, evs, EVENTS, 1);
		uint64_t now;

		for (int i = 0; i < n; i++)
			client_event(cl, &evs[i]);
		now = now_us();
		client_tick(cl, now);
		if (mark_flag) {
			mark_flag = 0;
			client_mark(cl);
		}
		if (now >= next_status) {
			report_write(cl, "running");
			next_status = now + cl->o.status_ms * 1000u;
		}
	}
	report_write(cl, "done");
	for (unsigned i = 0; i < cl->o.conns; i++) {
		broken += cl->c[i].state == C_BROKEN;
		if (cl->c[i].fd >= 0)
			close(cl->c[i].fd);
	}
	return broken ? 1 : 0;
}

static int client_main(int argc, char **argv)
{
	struct client cl = { .o = { .conns = 1, .interval_ms = 10, .duration_s = 600,
				    .status_ms = 200, .connect_timeout_ms = 10000 } };
	char host[64];
	const char *colon = argv[2] ? strrchr(argv[2], ':') : NULL;
	unsigned long port;
	int rc;

	if (colon == NULL || (size_t)(colon - argv[2]) >= sizeof(host))
		return usage("client: '%s' is not ADDR:PORT", argv[2] ? argv[2] : "");
	snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[2]), argv[2]);
	if (parse_uint(colon + 1, 1, 65535, &port) < 0 || addr_parse(host, port, &cl.dst) < 0)
		return usage("client: '%s' is not IPV4:PORT", argv[2]);
	rc = opts_parse(argc, argv, &cl.o);
	if (rc != 0)
		return rc;
	cl.c = calloc(cl.o.conns, sizeof(*cl.c));
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	if (cl.c == NULL || cl.ep < 0)
		return usage("client: out of memory");
	cl.start_us = cl.phase_start_us = now_us();
	for (unsigned i = 0; i < cl.o.conns; i++) {
		cl.c[i].fd = -1;
		rc = conn_open(&cl, i);
		if (rc < 0)
			conn_break(&cl, &cl.c[i], -rc, "connect");
	}
	rc = client_loop(&cl);
	free(cl.c);
	close(cl.ep);
	return rc;
}

/* ---- server ---- */

struct sconn {
	int fd;
	char *buf;		/* bytes read, not echoed yet */
	size_t len;
};

struct server {
	struct opts o;
	int lfd, ep;
	struct sconn *c;
	unsigned long accepted, open, closed, resets;
	unsigned long long bytes;
};

static void serve_report(const struct server *s, const char *state)
{
	char text[512];
	int n = snprintf(text, sizeof(text), "{\"state\": \"%s\", \"accepted\": %lu, \"open\": %lu, "
			 "\"closed\": %lu, \"resets\": %lu, \"bytes\": %llu}\n", state, s->accepted,
			 s->open, s->closed, s->resets, s->bytes);

	file_replace(s->o.out, text, (size_t)n);
}

static void serve_close(struct server *s, unsigned i, int err)
{
	struct sconn *c = &s->c[i];

	if (err == ECONNRESET)
		s->resets++;
	else
		s->closed++;
	s->open--;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Echo what is buffered; stop reading while the peer does not take it. */
static void serve_flush(struct server *s, unsigned i)
{
	struct sconn *c = &s->c[i];
	struct epoll_event ev = { .data.u32 = i + 1 };

	while (c->len > 0) {
		ssize_t n = send(c->fd, c->buf, c->len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN)
				break;
			serve_close(s, i, errno);
			return;
		}
		memmove(c->buf, c->buf + n, c->len - (size_t)n);
		c->len -= (size_t)n;
	}
	ev.events = c->len == SERVE_BUF ? EPOLLOUT : c->len ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
	epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void serve_read(struct server *s, unsigned i)
{
	struct sconn *c = &s->c[i];

	while (c->fd >= 0 && c->len < SERVE_BUF) {
		ssize_t n = recv(c->fd, c->buf + c->len, SERVE_BUF - c->len, 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			serve_close(s, i, n == 0 ? 0 : errno);
			return;
		}
		if (n < 0)
			break;
		c->len += (size_t)n;
		s->bytes += (unsigned long long)n;
	}
	if (c->fd >= 0)
		serve_flush(s, i);
}

static void serve_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		unsigned i;

		if (fd < 0)
			return;
		for (i = 0; i < s->o.max_conns && s->c[i].fd >= 0; i++)
			;
		if (i == s->o.max_conns) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->c[i].fd = fd;
		s->c[i].len = 0;
		s->accepted++;
		s->open++;
		epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = EPOLLIN,
									  .data.u32 = i + 1 });
	}
}

static int serve_listen(struct server *s, unsigned port)
{
	struct sockaddr_in sa;
	int one = 1;

	if (addr_parse(s->o.bind ? s->o.bind : "0.0.0.0", port, &sa) < 0)
		return usage("serve: --bind '%s' is not an IPv4 address", s->o.bind);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->lfd < 0 || bind(s->lfd, (void *)&sa, sizeof(sa)) < 0 || listen(s->lfd, 1024) < 0) {
		fprintf(stderr, "tcpprobe: serve: port %u: %s\n", port, strerror(errno));
		return 1;
	}
	epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &(struct epoll_event){ .events = EPOLLIN });
	return 0;
}

static int serve_main(int argc, char **argv)
{
	struct server s = { .o = { .max_conns = 4096, .duration_s = 600, .status_ms = 200 } };
	struct epoll_event evs[EVENTS];
	uint64_t end, next_status = 0;
	unsigned long port;
	int rc;

	if (argv[2] == NULL || parse_uint(argv[2], 1, 65535, &port) < 0)
		return usage("serve: '%s' is not a port", argv[2] ? argv[2] : "");
	rc = opts_parse(argc, argv, &s.o);
	if (rc != 0)
		return rc;
	s.c = calloc(s.o.max_conns, sizeof(*s.c));
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	for (unsigned i = 0; s.c != NULL && i < s.o.max_conns; i++) {
		s.c[i].fd = -1;
		s.c[i].buf = malloc(SERVE_BUF);
		if (s.c[i].buf == NULL)
			return usage("serve: out of memory");
	}
	if (s.c == NULL || s.ep < 0 || serve_listen(&s, port) != 0)
		return 1;
	fprintf(stderr, "tcpprobe: serving on port %lu\n", port);
	end = now_us() + s.o.duration_s * 1000000u;
	while (!stop_flag && now_us() < end) {
		int n = epoll_wait(s.ep, evs, EVENTS, 100);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == 0)
				serve_accept(&s);
			else if (s.c[evs[i].data.u32 - 1].fd >= 0)
				serve_read(&s, evs[i].data.u32 - 1);
		}
		if (now_us() >= next_status) {
			serve_report(&s, "running");
			next_status = now_us() + s.o.status_ms * 1000u;
		}
	}
	serve_report(&s, "done");
	return 0;
}

int main(int argc, char **argv)
{
	signals();
	if (argc >= 3 && strcmp(argv[1], "client") == 0)
		return client_main(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return serve_main(argc, argv);
	return usage("a mode (client or serve) and its argument are required");
}
