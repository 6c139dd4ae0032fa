# SPDX-License-Identifier: MIT
# Plots for bench/run.sh; run in the output directory.
set terminal pngcairo size 900,560 font "sans,10"
set grid
set key left top

set output "latency-cdf.png"
set title "1 KiB reads through a random node, concurrency 1"
set xlabel "latency (microseconds)"
set ylabel "fraction of reads"
set logscale x
files = system("ls cdf-*.dat 2>/dev/null | sort -t- -k2 -n")
plot for [f in files] f using 1:2 with lines lw 2 title sprintf("%s nodes", substr(f, 5, strstrt(f, ".") - 1))
unset logscale x

set output "throughput.png"
set title "Throughput against cluster size"
set xlabel "nodes"
set ylabel "operations per second (log scale)"
set logscale x 2
set logscale y
cols = system("cat throughput.cols")
plot for [i=1:words(cols)] "throughput.dat" using 1:(column(i+1)) with linespoints lw 2 title word(cols, i)
unset logscale x
unset logscale y

set output "sim-hops.png"
set title "Routing simulation: path length against ring size"
set xlabel "nodes"
set ylabel "messages until the key's predecessor answers"
set logscale x 2
plot "sim.dat" using 1:2 with linespoints lw 2 title "mean (simulated)", \
     "sim.dat" using 1:3 with lines dt 2 title "1st percentile", \
     "sim.dat" using 1:4 with lines dt 2 title "99th percentile", \
     "sim.dat" using 1:5 with lines lw 2 title "1/2 log2 N (paper)"

set output "sim-load.png"
set title "Routing simulation: keys per node, 10^4 nodes, 5x10^5 keys"
set xlabel "nodes, ranked by load (percent)"
set ylabel "keys per node"
unset logscale x
set xrange [0:100]
stats "sim-load.dat" using 1 nooutput
plot "sim-load.dat" using ($0 * 100.0 / (STATS_records - 1)):1 with lines lw 2 title "keys per node (simulated)", \
     STATS_mean with lines dt 2 lw 2 title sprintf("mean (%.0f)", STATS_mean)
