// What a node needs to join a cluster ([cluster] of the node config) and what
// it knows about the other nodes. Plain values, no CAF type: dispatch_node.hpp
// and the HTTP layer include this.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace rideshard::node {

/// A node's cluster settings. `enabled` false (no [cluster] section): the
/// embedded single node, no middleman and no port besides the gateway's.
struct cluster_options {
  bool enabled = false;
  /// This node's BASP (CAF middleman) listen address; port 0 picks a free one.
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// Peers to dial, "host:port" each (their BASP listen addresses). More are
  /// learnt from the peers' heartbeats.
  std::vector<std::string> seeds;
  /// Middleman heartbeats and the membership actor's own, one per interval.
  std::chrono::milliseconds heartbeat_interval{500};
  /// A peer silent this long is marked down (and the middleman drops its connection).
  std::chrono::milliseconds connection_timeout{3000};
  /// Redial backoff for an unreachable peer: doubles from retry_min up to retry_max.
  std::chrono::milliseconds retry_min{200};
  std::chrono::milliseconds retry_max{5000};
  /// Mutual TLS (PEM files): this node's certificate chain and key, and the CA
  /// every peer's certificate must chain to. All three are required.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  /// Reported to peers and shown by /health and the console.
  std::string version;
  /// Shard ownership through Kafka ([cluster] shard_groups with [kafka]
  /// bootstrap): trips and matchers' shards are split into this many shard
  /// groups (partitions of rideshard.shard-groups.v1), and this node serves
  /// only the groups the consumer group assigns it; each transition is
  /// acknowledged once in its group's changelog transaction. 0: every shard
  /// is served here (membership only).
  int shard_groups = 0;
  /// Kafka bootstrap ("host:port[,...]") for the ownership group and changelog.
  std::string kafka_bootstrap;
  /// Consumer group session timeout: a node silent this long (kill -9, frozen)
  /// loses its shard groups to the others. The broker bounds it below
  /// (group.min.session.timeout.ms, 6000 by default).
  std::chrono::milliseconds ownership_session_timeout{6000};
  /// Longest restore of one assigned shard group before it is left unserved
  /// (retried later).
  std::chrono::milliseconds restore_timeout{60000};
  /// A request for a shard group no node owns right now (a handoff in
  /// progress: its owner died or left) waits this long for an owner, then is
  /// refused `unavailable`. A request forwarded to the owner's node waits at
  /// most connection_timeout for its answer.
  std::chrono::milliseconds handoff_wait{5000};
};

/// One node as this node sees it (itself included).
struct member_status {
  std::uint16_t node = 0;      ///< [node].id; 0 until the peer's first heartbeat
  std::string address;         ///< its BASP address, "host:port"
  std::string version;         ///< empty until the first heartbeat
  std::int64_t uptime_ms = 0;  ///< since the peer started (its own clock)
  /// Since its last heartbeat arrived; -1 never heard. 0 for this node.
  std::int64_t heartbeat_age_ms = -1;
  bool up = false;
  bool self = false;
  std::string last_error;  ///< why it is down or not reached yet ("" when up)
  /// Shard groups this node owns in the owner table (its claims that won:
  /// newest epoch), ascending; empty while down. And the epoch it announced.
  std::vector<std::uint32_t> shard_groups;
  std::uint64_t groups_epoch = 0;
};

/// The membership as last published by the membership actor: this node first,
/// then the peers by address. A single node (no [cluster]) has one row.
struct cluster_view {
  bool enabled = false;
  std::vector<member_status> members;
  /// Shard ownership: the cluster's shard group count (0: not used) and the
  /// groups this node serves now, ascending (restored, trips revived).
  int shard_groups = 0;
  std::vector<int> served_groups;
};

}  // namespace rideshard::node
