# scripts/races_plot.gp - one race lab timeline picture (make races-doc).
#
#   gnuplot -e "data='r01.tsv'; out='r01.png'; ttl='R1 ...'; xs='time'" scripts/races_plot.gp
#
# xs='time': x is the time from the CPU's counter (for races whose steps are
# nanoseconds apart); xs='steps': x is the steps' order (for races whose steps
# are milliseconds apart in bursts: a sleep, a wait, a process start).
# data: the tab-separated window a race program writes with --trace-data
# (columns: ns, thread, kind, value, shared value after, marked, what).
# Top: a lane per thread, each step a point (hollow: a read, filled: a write,
# diamond: anything else) labelled with what it did and the value; red: a
# marked step (a store over an update its thread never read, or the symptom
# itself).  Bottom: the shared value over time; a red cross at each mark.
set terminal pngcairo size 960,560 font "DejaVu Sans,10" noenhanced
set output out
set datafile separator "\t"
set datafile commentschars "#"
stats data using 2 nooutput
lanes = STATS_max
stats data using 1 nooutput
tmax = STATS_max
stats data using 5 nooutput
vmin = STATS_min
vmax = STATS_max
# the time axis in ns, us or ms, whichever reads best
unit = tmax > 2e6 ? 1e6 : (tmax > 2e4 ? 1e3 : 1)
uname = unit == 1e6 ? "ms" : (unit == 1e3 ? "us" : "ns")
if (!exists("xs")) xs = "time"
bysteps = xs eq "steps"
stats data using 1 nooutput
nsteps = STATS_records
x(t) = bysteps ? $0 + 1 : t / unit
xmax = bysteps ? nsteps : tmax / unit

set multiplot layout 2,1 title ttl font "DejaVu Sans,12"
set lmargin 12
set rmargin 4
set xrange [bysteps ? -0.3 : -xmax*0.04 : bysteps ? xmax + 1 : xmax*1.06 + 1e-9]

# -- the lanes
set tmargin 3
set bmargin 1
set yrange [lanes + 1.1 : -0.2]
set ytics 1, 1, lanes
set ytics format "T%g"
set format x ""
set xlabel ""
set grid xtics lc rgb "#dddddd"
set key outside right top horizontal font ",9"
isread(k) = (strcol(3) eq "load" || strcol(3) eq "check") ? 1 : 0
iswrite(k) = (strcol(3) eq "store" || strcol(3) eq "act") ? 1 : 0
label(k) = sprintf("%s %s", strcol(7), strcol(4))
# labels: T1 above its points, the other lanes below theirs; every other step
# one or two lines further out, so that neighbours do not overlap
nrows = lanes > 2 ? 2 : 3  # label rows per lane: fewer when the lanes are closer
row(k) = (int($2) == 1 ? 1 : -1) * (1 + int($0) % nrows)  # the label's row: +-1, 2, 3
plot data using (x($1)):(isread(0) && $6 == 0 ? $2 : 1/0) with points pt 6 ps 1.6 lc rgb "#1f77b4" title "read", \
     data using (x($1)):(iswrite(0) && $6 == 0 ? $2 : 1/0) with points pt 7 ps 1.6 lc rgb "#1f77b4" title "write", \
     data using (x($1)):(!isread(0) && !iswrite(0) && $6 == 0 ? $2 : 1/0) with points pt 12 ps 1.6 lc rgb "#555555" title "other step", \
     data using (x($1)):($6 == 1 ? $2 : 1/0) with points pt 7 ps 2.2 lc rgb "#d62728" title "update lost / symptom", \
     for [r in "1 2 3 -1 -2 -3"] data using (x($1)):(row(0) == int(r) ? $2 : 1/0):(label(0)) \
         with labels offset 0,sgn(int(r))*(0.1 + 1.1*abs(int(r))) font ",8" notitle

# -- the shared value
set tmargin 0.5
set bmargin 4
unset key
set format x "%g"
if (bysteps) { set xlabel "steps in the order of their times (the CPU's counter)"; set xtics 1 } \
else { set xlabel sprintf("time (%s since the window's first step, from the CPU's counter)", uname) }
set ylabel "shared value"
set ytics format "%g"
if (vmax - vmin <= 10) { set ytics 1 } else { set ytics autofreq }
pad = (vmax - vmin) * 0.15 + 0.5
set yrange [vmin - pad : vmax + pad]
plot data using (x($1)):5 with steps lw 2 lc rgb "#2ca02c", \
     data using (x($1)):($6 == 1 ? $5 : 1/0) with points pt 2 ps 2.5 lw 2 lc rgb "#d62728"
unset multiplot
