module hks.local/devcluster/tools

go 1.26.0
