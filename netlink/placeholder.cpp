namespace netlink {}
