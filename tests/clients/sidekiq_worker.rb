# tests/clients/sidekiq_worker.rb - the job and the Redis settings of the
# Sidekiq worker process tests/integration/test_sidekiq.py runs:
#
#   RAFTCACHE_NODES=host:port,... SIDEKIQ_DONE_FILE=path \
#       sidekiq -r tests/clients/sidekiq_worker.rb -q default -c C -t T
#
# RecordJob#perform(i) sleeps SIDEKIQ_JOB_SLEEP seconds (default 0.01), then
# appends the line "i jid" to SIDEKIQ_DONE_FILE: one write(2) on a file
# opened O_APPEND, so lines of concurrent jobs never mix. Every execution
# adds a line, so a job run twice shows up twice and a job never run not at
# all; the file is local, so recording a job cannot itself fail, retry or be
# lost with the cluster.
#
# redis-rb runs in cluster mode over every node: it reads CLUSTER SLOTS and
# follows -MOVED to the Raft leader; when a connection fails it reloads
# CLUSTER SLOTS from a node that answers, and Sidekiq's fetch retries after a
# second, so the worker moves to a new leader by itself.
require "sidekiq"

Redis.silence_deprecations = true

NODES = ENV.fetch("RAFTCACHE_NODES").split(",")
DONE_FILE = ENV.fetch("SIDEKIQ_DONE_FILE")
JOB_SLEEP = Float(ENV.fetch("SIDEKIQ_JOB_SLEEP", "0.01"))

Sidekiq.configure_server do |config|
  config.redis = { cluster: NODES.map { |addr| "redis://#{addr}" } }
end

class RecordJob
  include Sidekiq::Job

  def perform(i)
    sleep JOB_SLEEP
    File.open(DONE_FILE, "a") { |f| f.write("#{i} #{jid}\n") }
  end
end
