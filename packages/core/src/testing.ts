export const testing: number = 1
