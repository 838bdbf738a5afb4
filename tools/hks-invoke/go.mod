module hks.local/tools/hks-invoke

go 1.22
