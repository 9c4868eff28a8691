export const node: number = 1
