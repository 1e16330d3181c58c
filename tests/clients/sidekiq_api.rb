# tests/clients/sidekiq_api.rb - Sidekiq's API (Debian's ruby-sidekiq 6.4 on
# ruby-redis 4.8) on one raftcache node as a plain client, for
# tests/integration/test_proxy_frameworks.py: with raft-follower-proxy on, a
# follower serves it as the leader would. The API runs MULTI/EXEC
# transactions (pushes, Stats, Queue#clear), pipelines and sorted sets.
#
# Usage: ruby sidekiq_api.rb HOST:PORT N
#
# Pushes N jobs and N scheduled ones, reads them back through Queue, Stats
# and ScheduledSet, deletes one, clears the queue, and prints "ok" after
# every check held; any error or failed check ends it with a message and a
# non-zero status.
require "sidekiq"
require "sidekiq/api"

Redis.silence_deprecations = true
STDOUT.sync = true

addr = ARGV.fetch(0)
n = Integer(ARGV.fetch(1))
Sidekiq.configure_client { |config| config.redis = { url: "redis://#{addr}" } }

def check(what, got, want)
  raise "#{what}: #{got.inspect}, wanted #{want.inspect}" unless got == want
end

jids = n.times.map do |i|
  Sidekiq::Client.push("class" => "RecordJob", "queue" => "proxied", "args" => [i], "retry" => false)
end
n.times do |i|
  Sidekiq::Client.push("class" => "RecordJob", "queue" => "proxied", "args" => [i], "at" => Time.now.to_f + 3600)
end
queue = Sidekiq::Queue.new("proxied")
check("queue size", queue.size, n)
check("jobs in order", queue.map(&:jid).reverse, jids)
check("enqueued", Sidekiq::Stats.new.enqueued, n)
check("scheduled", Sidekiq::ScheduledSet.new.size, n)
check("queues", Sidekiq::Stats.new.queues, { "proxied" => n })
queue.find_job(jids.first).delete
check("size after a delete", queue.size, n - 1)
queue.clear
check("size after clear", queue.size, 0)
Sidekiq::ScheduledSet.new.clear
check("scheduled after clear", Sidekiq::ScheduledSet.new.size, 0)
puts "ok"
