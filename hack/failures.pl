#!/usr/bin/perl
# Prints each failed test of the given TRX files with the first lines of its failure message, so that the last lines
# of a CI log say what broke and why (the log's tail may be all that is kept).
use strict; use warnings;
my $lines = $ENV{FAILURE_LINES} // 12;
sub unxml { my $t = shift; $t =~ s/&lt;/</g; $t =~ s/&gt;/>/g; $t =~ s/&quot;/"/g; $t =~ s/&apos;/'/g; $t =~ s/&#xD;//g; $t =~ s/&#xA;/\n/g; $t =~ s/&amp;/&/g; return $t; }
for my $file (@ARGV) {
  open(my $fh, '<', $file) or next;
  local $/; my $trx = <$fh>; close $fh;
  while ($trx =~ /<UnitTestResult\s([^>]*)>(.*?)<\/UnitTestResult>/gs) {
    my ($attributes, $body) = ($1, $2);
    next unless $attributes =~ /outcome="Failed"/;
    my ($name) = $attributes =~ /testName="([^"]*)"/;
    print "failed: ", unxml($name // '?'), "\n";
    if ($body =~ /<Message>(.*?)<\/Message>/s) {
      my @message = grep { /\S/ } split /\n/, unxml($1);
      print "    $_\n" for @message[0 .. ($#message < $lines - 1 ? $#message : $lines - 1)];
    }
  }
}
