package Test::FIORedis::Recorder;

# A recording OpenTelemetry tracer and meter for the observability tests. They implement the
# methods Future::IO::Redis calls, with the names and arguments of the OpenTelemetry
# distribution on CPAN (not packaged for Debian, so not used here):
#
#   $tracer->create_span( name => ..., kind => ..., attributes => {...} )   -> span
#   $span->set_attribute( $key => $value ), $span->set_status( $code, $description ),
#   $span->record_exception( $error ), $span->end
#   $meter->create_counter / create_histogram / create_up_down_counter( name => ..., unit => ...,
#   description => ... )                                                      -> instrument
#   $instrument->add( $value, \%attributes ), $instrument->record( $value, \%attributes )
#
# Everything is kept for the test to look at: $tracer->spans (in creation order), and
# $meter->instrument($name)->points ([ value, \%attributes ], ...), ->sum(\%match).

use strict;
use warnings;

package Test::FIORedis::Recorder::Tracer;

sub new { bless { spans => [] }, shift }

sub create_span {
    my ( $self, %args ) = @_;
    die "create_span without a name\n" unless defined $args{name};
    my $span = bless {
        name       => $args{name},
        kind       => $args{kind},
        attributes => { %{ $args{attributes} // {} } },
        events     => [],
        status     => undef,
        ended      => 0,
    }, 'Test::FIORedis::Recorder::Span';
    push @{ $self->{spans} }, $span;
    return $span;
}

sub spans { @{ $_[0]{spans} } }
sub clear { $_[0]{spans} = [] }

package Test::FIORedis::Recorder::Span;

sub set_attribute { my ( $self, %kv ) = @_; $self->{attributes}{$_} = $kv{$_} for keys %kv; $self }
sub set_status    { my ( $self, $code, $desc ) = @_; die "span already ended\n" if $self->{ended}; $self->{status} = [ $code, $desc ]; $self }
sub record_exception { my ( $self, $e ) = @_; push @{ $self->{events} }, [ exception => $e ]; $self }
sub end           { my ($self) = @_; die "span ended twice\n" if $self->{ended}++; $self }

sub name       { $_[0]{name} }
sub kind       { $_[0]{kind} }
sub attributes { $_[0]{attributes} }
sub status     { $_[0]{status} }
sub ended      { $_[0]{ended} }
sub exceptions { map { $_->[1] } grep { $_->[0] eq 'exception' } @{ $_[0]{events} } }

package Test::FIORedis::Recorder::Meter;

sub new { bless { instruments => {} }, shift }

sub _make {
    my ( $self, $type, %args ) = @_;
    die "instrument without a name\n" unless defined $args{name};
    return $self->{instruments}{ $args{name} } //= bless { type => $type, %args, points => [] }, 'Test::FIORedis::Recorder::Instrument';
}

sub create_counter         { shift->_make( counter         => @_ ) }
sub create_histogram       { shift->_make( histogram       => @_ ) }
sub create_up_down_counter { shift->_make( up_down_counter => @_ ) }

sub instrument { $_[0]{instruments}{ $_[1] } }
sub names      { sort keys %{ $_[0]{instruments} } }

package Test::FIORedis::Recorder::Instrument;

sub add {
    my ( $self, $v, $attr ) = @_;
    die "add on a $self->{type}\n" if $self->{type} eq 'histogram';
    die "negative add on a counter\n" if $self->{type} eq 'counter' && $v < 0;
    push @{ $self->{points} }, [ $v, { %{ $attr // {} } } ];
}

sub record {
    my ( $self, $v, $attr ) = @_;
    die "record on a $self->{type}\n" unless $self->{type} eq 'histogram';
    push @{ $self->{points} }, [ $v, { %{ $attr // {} } } ];
}

sub type   { $_[0]{type} }
sub points { @{ $_[0]{points} } }

# Sum (or count, for histograms: count => 1) of the points whose attributes include %$match.
sub sum {
    my ( $self, $match, %o ) = @_;
    my $s = 0;
    POINT: for my $p ( @{ $self->{points} } ) {
        for my $k ( keys %{ $match // {} } ) {
            next POINT unless defined $p->[1]{$k} && $p->[1]{$k} eq $match->{$k};
        }
        $s += $o{count} ? 1 : $p->[0];
    }
    return $s;
}

1;
