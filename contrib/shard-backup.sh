#!/bin/sh
# shard-backup.sh: one host's share of a sharded backup. Mounts its shard of the DynamoDB tables
# with ddbfs (shard=K/M, the same segments=N everywhere) and rsyncs it into DEST/<table>/, where
# DEST is S3-mounted storage (s3fs, mountpoint-s3, ...) or any directory. The M hosts together
# write every segment file once and read each table at its full budget.
#
# Used by contrib/k8s/ddbfs-backup-job.yaml (Kubernetes Indexed Job) and
# contrib/aws-batch/ (AWS Batch array job); runnable by hand on M machines.
#
# Environment:
#   SHARD_INDEX    K, 0-based; else JOB_COMPLETION_INDEX (Kubernetes), else
#                  AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch)
#   SHARD_COUNT    M: the number of hosts (Kubernetes: the Job's completions; Batch: array size)
#   SEGMENTS       N, the same on every host, at least M (default 64)
#   DEST           where the backup goes (mounted S3 bucket), e.g. /backup/2026-11-22
#   DDB_REGION     region or "default" (default: default, from the AWS configuration)
#   DDBFS_OPTIONS  more -o options, e.g. tables=orders:users,read_percent=0.8,format=json.gz
#   MNT            the mount point (default /mnt/ddb); CACHE_DIR (default /var/cache/ddbfs)
# Credentials come from the AWS chain: on EKS, IRSA (web identity) or pod identity (container
# credentials); on Batch/ECS, the job role (container credentials); on EC2, the instance role.
set -eu

k=${SHARD_INDEX:-${JOB_COMPLETION_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:-}}}
m=${SHARD_COUNT:-}
segments=${SEGMENTS:-64}
dest=${DEST:-}
mnt=${MNT:-/mnt/ddb}
cache=${CACHE_DIR:-/var/cache/ddbfs}
region=${DDB_REGION:-default}

die() {
  echo "shard-backup: $*" >&2
  exit 2
}
case $k in '' | *[!0-9]*) die "no shard index: set SHARD_INDEX, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX" ;; esac
case $m in '' | *[!0-9]*) die "set SHARD_COUNT to the number of hosts (M)" ;; esac
[ -n "$dest" ] || die "set DEST to the (S3-mounted) directory the backup goes to"
[ -d "$dest" ] || die "DEST=$dest is not a directory: is the S3 bucket mounted?"

mkdir -p "$mnt" "$cache"
opts="shard=$k/$m,segments=$segments,cache_dir=$cache,ro"
if [ -n "${DDBFS_OPTIONS:-}" ]; then
  opts="$opts,$DDBFS_OPTIONS"
fi
echo "shard-backup: shard $k of $m, $segments segments per table, to $dest"
# ddbfs checks credentials, endpoint and options before it daemonizes: a mistake fails here.
ddbfs -o "$opts" "$region" "$mnt"
trap 'fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || true' EXIT

status=0
for dir in "$mnt"/*/; do
  [ -d "$dir" ] || continue
  table=$(basename "$dir")
  mkdir -p "$dest/$table"
  # Only this shard's segments (and _schema.json, the same on every host) are in $dir: the other
  # hosts' files in $dest are left alone (no --delete).
  if ! rsync -rt --inplace "$dir" "$dest/$table/"; then
    echo "shard-backup: rsync of table $table failed" >&2
    status=1
  fi
done
exit $status
