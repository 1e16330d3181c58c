# A redis-rb (Debian's ruby-redis 4.8) application in Sentinel mode, for
# tests/integration/test_sentinel.py: it finds the master through the
# given sentinels (raftcache nodes), writes PREFIX0, PREFIX1, ... (value =
# the index) one after another until STOPFILE exists, then reads every
# acknowledged key back through the same client and prints one JSON line.
#
# Usage: ruby sentinel_writer.rb STOPFILE PREFIX MASTER-NAME HOST:PORT...
#
# What an application does across a failover: a connection error, or an
# error whose documented meaning is "try again" (-TRYAGAIN) or "outcome
# unknown" (-TIMEOUT: SET is idempotent), is retried for at most
# RETRY_S seconds; any other error reply is recorded in "errors" and ends
# the run (a client that cannot follow the master would show -MOVED here).
require "json"
require "redis"

RETRY_S = 30
stop, prefix, name, *addrs = ARGV
sentinels = addrs.map do |a|
  host, port = a.split(":")
  { host: host, port: Integer(port) }
end
redis = Redis.new(url: "redis://#{name}", sentinels: sentinels, role: :master, timeout: 5,
                  reconnect_attempts: 0)

def mono
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def with_retries(counts)
  started = mono
  begin
    yield
  rescue Redis::BaseConnectionError => e
    counts[:connection_errors] += 1
    raise if mono - started > RETRY_S
    sleep 0.05
    retry
  rescue Redis::CommandError => e
    raise unless e.message.start_with?("TRYAGAIN", "TIMEOUT")
    counts[:retried_replies] += 1
    raise if mono - started > RETRY_S
    sleep 0.05
    retry
  end
end

counts = { connection_errors: 0, retried_replies: 0 }
acked = 0
errors = []
begin
  until File.exist?(stop)
    with_retries(counts) { redis.set("#{prefix}#{acked}", acked.to_s) }
    acked += 1
  end
  missing = (0...acked).count do |i|
    with_retries(counts) { redis.get("#{prefix}#{i}") } != i.to_s
  end
rescue StandardError => e
  errors << "#{e.class}: #{e.message}"
end
puts JSON.generate(acked: acked, missing: missing, errors: errors,
                   connection_errors: counts[:connection_errors],
                   retried_replies: counts[:retried_replies])
