#!/bin/sh
# Install the Debian 12 packages that building, testing, benchmarking and the demo need.
# Idempotent: apt-get skips what is already installed.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libdpdk-dev dpdk libhiredis-dev libjansson-dev libcriterion-dev libpcap-dev
redis-server redis-tools python3 python3-scapy iproute2 ethtool procps
libmicrohttpd-dev libcurl4-openssl-dev curl openvswitch-switch tcpdump iputils-ping"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
