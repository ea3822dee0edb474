<?php

declare(strict_types=1);

namespace AegirSim;

/** An error drush would report and stop on: the message goes to stderr, the exit code is 1. */
final class DrushError extends \RuntimeException
{
}
