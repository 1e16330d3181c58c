# tests/clients/sidekiq_push.rb - pushes N jobs with Sidekiq::Client (Debian's
# ruby-sidekiq 6.4 on ruby-redis 4.8) to a raftcache cluster, for
# tests/integration/test_sidekiq.py.
#
# Usage: ruby sidekiq_push.rb HOST:PORT[,HOST:PORT...] N
#
# Pushes RecordJob(i) for i = 0 .. N-1 to the "default" queue, one
# Sidekiq::Client.push at a time, and prints "i jid" once the push is
# acknowledged (stdout is unbuffered: a line printed is a push the cluster
# answered). Any error ends the script with a non-zero status. Retries are
# off: a job that fails is dropped and shows as missing, instead of waiting
# in the retry set, which Sidekiq moves back to its queue with a Lua script
# (raftcache has no scripting). redis-rb runs in cluster mode over the listed
# nodes: it reads CLUSTER SLOTS (one shard, every slot on the Raft leader)
# and follows -MOVED, so the pushes reach the leader whichever node is
# listed first.
require "sidekiq"

Redis.silence_deprecations = true # redis-rb 4.8 warns about Redis 5.0 changes on every SADD
STDOUT.sync = true

nodes = ARGV.fetch(0).split(",")
n = Integer(ARGV.fetch(1))

Sidekiq.configure_client do |config|
  config.redis = { cluster: nodes.map { |addr| "redis://#{addr}" } }
end

n.times do |i|
  jid = Sidekiq::Client.push("class" => "RecordJob", "queue" => "default", "args" => [i],
                               "retry" => false)
  raise "push #{i} returned #{jid.inspect}" unless jid.is_a?(String) && !jid.empty?
  puts "#{i} #{jid}"
end
