// PostgresKit: see README "Layout". Placeholder until its issue lands.
enum PostgresKitModule {}
