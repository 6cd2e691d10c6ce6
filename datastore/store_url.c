/* Store address parsing: "host[:port]", "[v6]:port", "unix:/path" and "redis://" URLs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "datastore/store.h"

static int url_error(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Put the reason into 'err' (if given) and return -EINVAL. */
static int url_error(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Parse the 'len' characters at 's' as a TCP port (1..65535) into '*port'. */
static int parse_port(const char *s, size_t len, uint16_t *port, char *err, size_t errsz)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return url_error(err, errsz, "store: empty port");
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return url_error(err, errsz, "store: port '%.*s' is not a number", (int)len, s);
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return url_error(err, errsz, "store: port '%.*s' is out of range", (int)len, s);
	*port = (uint16_t)v;
	return 0;
}

/* Copy the host name of 'len' characters at 'h' into 'cfg'. */
static int set_host(struct store_cfg *cfg, const char *h, size_t len, char *err, size_t errsz)
{
	if (len == 0)
		return url_error(err, errsz, "store: empty host name");
	if (len >= sizeof(cfg->host))
		return url_error(err, errsz, "store: host name too long (%zu characters, max %zu)",
				 len, sizeof(cfg->host) - 1);
	memcpy(cfg->host, h, len);
	cfg->host[len] = '\0';
	cfg->unix_path[0] = '\0';
	return 0;
}

/* "[v6addr]" or "[v6addr]:port" of 'len' characters at 's'. */
static int parse_bracketed(struct store_cfg *cfg, const char *s, size_t len, char *err,
			   size_t errsz)
{
	const char *close = memchr(s, ']', len);
	size_t rest;

	if (!close)
		return url_error(err, errsz, "store: missing ']' in '%.*s'", (int)len, s);
	rest = len - (size_t)(close + 1 - s);
	if (rest > 0 && close[1] != ':')
		return url_error(err, errsz, "store: expected ':' after ']' in '%.*s'", (int)len, s);
	if (rest > 0 && parse_port(close + 2, rest - 1, &cfg->port, err, errsz) < 0)
		return -EINVAL;
	return set_host(cfg, s + 1, (size_t)(close - s - 1), err, errsz);
}

/* "host", "host:port", "[v6addr]:port" or a bare IPv6 address, 'len' characters at 's'. */
static int parse_host_port(struct store_cfg *cfg, const char *s, size_t len, char *err,
			   size_t errsz)
{
	const char *colon = memchr(s, ':', len);

	cfg->port = 6379;
	if (len > 0 && s[0] == '[')
		return parse_bracketed(cfg, s, len, err, errsz);
	if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
		return set_host(cfg, s, len, err, errsz);	/* bare IPv6, no port */
	if (!colon)
		return set_host(cfg, s, len, err, errsz);
	if (colon == s)
		return url_error(err, errsz, "store: empty host name in '%.*s'", (int)len, s);
	if (parse_port(colon + 1, len - (size_t)(colon + 1 - s), &cfg->port, err, errsz) < 0)
		return -EINVAL;
	return set_host(cfg, s, (size_t)(colon - s), err, errsz);
}

/* The path of "unix:/path". */
static int parse_unix(struct store_cfg *cfg, const char *path, char *err, size_t errsz)
{
	size_t len = strlen(path);

	if (len == 0)
		return url_error(err, errsz, "store: empty unix socket path in 'unix:'");
	if (path[0] != '/')
		return url_error(err, errsz, "store: unix socket path '%s' is not absolute", path);
	if (len >= sizeof(cfg->unix_path))
		return url_error(err, errsz, "store: unix socket path too long (%zu characters, max %zu)",
				 len, sizeof(cfg->unix_path) - 1);
	memcpy(cfg->unix_path, path, len + 1);
	return 0;
}

/* The user-info part of "redis://:password@...", 'len' characters at 'u'. */
static int parse_userinfo(struct store_cfg *cfg, const char *u, size_t len, char *err, size_t errsz)
{
	if (len == 0 || u[0] != ':')
		return url_error(err, errsz, "store: user names are not supported in redis:// "
				 "addresses (use redis://:password@host)");
	if (len - 1 >= sizeof(cfg->password))
		return url_error(err, errsz, "store: password too long (max %zu characters)",
				 sizeof(cfg->password) - 1);
	memcpy(cfg->password, u + 1, len - 1);
	cfg->password[len - 1] = '\0';
	return 0;
}

/* What follows "redis://": "[:password@]host[:port][/0]". */
static int parse_redis_url(struct store_cfg *cfg, const char *s, char *err, size_t errsz)
{
	const char *at = strrchr(s, '@');
	const char *hp = at ? at + 1 : s;
	const char *path = strchr(hp, '/');
	size_t hp_len = path ? (size_t)(path - hp) : strlen(hp);

	if (at && parse_userinfo(cfg, s, (size_t)(at - s), err, errsz) < 0)
		return -EINVAL;
	if (path && strcmp(path, "/") != 0 && strcmp(path, "/0") != 0)
		return url_error(err, errsz, "store: database '%s' is not supported (only 0)", path);
	if (hp_len == 0)
		return url_error(err, errsz, "store: empty host name in 'redis://%s'", s);
	return parse_host_port(cfg, hp, hp_len, err, errsz);
}

/* 'cfg' is changed only when the whole address is valid. A password is set only by the
 * redis:// form; the other forms leave 'cfg->password' alone. */
int store_cfg_parse_url(struct store_cfg *cfg, const char *url, char *err, size_t errsz)
{
	struct store_cfg c;
	int rc;

	if (!cfg || !url || !url[0])
		return url_error(err, errsz, "store: empty address");
	c = *cfg;
	if (strncmp(url, "unix:", 5) == 0)
		rc = parse_unix(&c, url + 5, err, errsz);
	else if (strncmp(url, "redis://", 8) == 0)
		rc = parse_redis_url(&c, url + 8, err, errsz);
	else if (strstr(url, "://"))
		rc = url_error(err, errsz, "store: unsupported scheme in '%s' (use redis://)", url);
	else
		rc = parse_host_port(&c, url, strlen(url), err, errsz);
	if (rc == 0)
		*cfg = c;
	return rc;
}
