# redis-rb (Debian's ruby-redis, 4.x, whose `cluster:` option is its cluster
# client) through a leader kill -9, driven by tests/integration/test_clients.py
# (the protocol is described at the top of tests/clients/redispy_failover.py).
#
# Usage: ruby redisrb_failover.rb MODE SEEDS PREFIX N
$stdout.sync = true
$stderr.sync = true
Warning[:deprecated] = false if Warning.respond_to?(:[]=)
require 'redis'

RETRY_S = Float(ENV.fetch('CLIENT_RETRY_S', '30'))
# The replies a cluster gives while it elects a leader; connection errors
# and the cluster client's own errors are retried too.
RETRYABLE = /\A(CLUSTERDOWN|TIMEOUT|TRYAGAIN|MOVED|LOADING)/

def monotonic
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def retry_op(what)
  deadline = monotonic + RETRY_S
  begin
    yield
  rescue Redis::BaseError => e
    raise if e.is_a?(Redis::CommandError) && e.message !~ RETRYABLE
    raise "#{what}: still failing after #{RETRY_S}s: #{e.class}: #{e.message}" if monotonic > deadline
    warn "#{what}: #{e.class}: #{e.message}"
    sleep 0.1
    retry
  end
end

def connect(mode, seeds)
  opts = { connect_timeout: 1, timeout: 2, reconnect_attempts: 0 }
  return Redis.new(cluster: seeds.split(',').map { |s| "redis://#{s}" }, **opts) if mode == 'cluster'

  host, port = seeds.split(',').first.split(':')
  Redis.new(host: host, port: port.to_i, **opts)
end

def phase(r, mode, prefix, lo, hi)
  (lo...hi).each do |i|
    key = "#{prefix}:#{i}"
    ok = retry_op("SET #{key}") { r.set(key, "v#{i}") }
    raise "SET #{key}: #{ok.inspect}" unless ok == 'OK'
    puts "ack #{key} v#{i}"
  end
  (lo...hi).each do |i|
    key = "#{prefix}:#{i}"
    got = retry_op("GET #{key}") { r.get(key) }
    raise "GET #{key}: #{got.inspect}" unless got == "v#{i}"
  end
  key = "{#{prefix}:#{lo}}:b"
  # MULTI/EXEC in cluster mode; a pipeline through the proxy (a follower
  # forwards no transaction).
  got = retry_op('batch') do
    if mode == 'cluster'
      r.multi { |m| m.set(key, 'b'); m.get(key) }
    else
      r.pipelined { |p| p.set(key, 'b'); p.get(key) }
    end
  end
  raise "batch: #{got.inspect}" unless got == %w[OK b]
  puts "ack #{key} b"
end

mode, seeds, prefix, n = ARGV
n = n.to_i
r = connect(mode, seeds)
phase(r, mode, prefix, 0, n)
puts 'phase1'
$stdin.gets
phase(r, mode, prefix, n, 2 * n)
puts 'done'
