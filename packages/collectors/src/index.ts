// Collectors: each turns one kind of server's listeners into listen events (DESIGN.md section 2b).
export {};
